//! Bytes written to a TCP socket that its peer has not yet acknowledged, and of those
//! how many it has already received out of order.
//!
//! An upload counted by bytes written to the socket counts the send buffer, which on
//! a phone holds seconds of uplink. The kernel knows better: a byte it no longer
//! holds in the send queue was acknowledged by the receiver's TCP, so it crossed the
//! link. `written − unacknowledged(socket)` is the upload as the server received it,
//! at any instant, whatever protocol the server speaks above TCP.
//!
//! - Linux and Android: `ioctl(SIOCOUTQ)`, which is `write_seq − snd_una`.
//! - Apple platforms: `getsockopt(SO_NWRITE)`, the send buffer's content; TCP keeps a
//!   byte there until it is acknowledged.
//! - Elsewhere: [`std::io::ErrorKind::Unsupported`], and the caller counts on
//!   completion only.
//!
//! A lost segment holds the cumulative acknowledgement back while the segments after
//! it keep arriving: for a retransmission timeout's second or more on a cell, the
//! count above stands still although the link delivers. The receiver acknowledges
//! those segments selectively (SACK), and Linux counts them: [`selectively_acknowledged`]
//! is that count times the segment size (`TCP_INFO`'s `tcpi_sacked × tcpi_snd_mss`),
//! zero where the platform does not tell.
//!
//! A download is held behind the same holes on the phone's side, where no
//! acknowledgement tells them: [`out_of_order_received`] counts what arrived beyond
//! one (Linux 5.4 and later: segments, `tcpi_rcv_ooopack`; Apple platforms: bytes,
//! `TCP_CONNECTION_INFO`'s `tcpi_rxoutoforderbytes`), and while it grows a hole is open
//! and the bytes read so far fall short of those that crossed.
//!
//! This crate is the workspace's only unsafe code: one system call per platform, on a
//! descriptor that the borrow keeps open for the call's duration.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

/// Bytes written to `socket` (a connected TCP socket) that its peer has not yet
/// acknowledged: those in flight and those not yet sent.
pub fn unacknowledged(socket: &impl AsFd) -> io::Result<u64> {
    imp::unacknowledged(socket.as_fd().as_raw_fd())
}

/// Bytes among the [`unacknowledged`] ones that the peer has acknowledged selectively:
/// received beyond a hole, waiting for a retransmission to fill it. An estimate in
/// whole segments; zero where the platform does not tell.
pub fn selectively_acknowledged(socket: &impl AsFd) -> io::Result<u64> {
    imp::selectively_acknowledged(socket.as_fd().as_raw_fd())
}

/// How much `socket` (a connected TCP socket) has received out of order since it
/// opened: beyond a hole, waiting for a retransmission before the application can
/// read it. Only its growth means anything: while it grows, a hole is open. The unit
/// is the platform's: segments on Linux 5.4 and later (`TCP_INFO`'s
/// `tcpi_rcv_ooopack`), bytes on Apple platforms (`TCP_CONNECTION_INFO`'s
/// `tcpi_rxoutoforderbytes`); [`std::io::ErrorKind::Unsupported`] elsewhere.
pub fn out_of_order_received(socket: &impl AsFd) -> io::Result<u64> {
    imp::out_of_order_received(socket.as_fd().as_raw_fd())
}

/// Reads the TCP-level socket option `name` of `fd` into `value`, and returns how many
/// of its bytes the kernel filled in (a struct that grew across kernel versions is
/// copied only as far as both sides know it).
///
/// # Safety
///
/// `fd` must stay open for the call, and every byte pattern must be a valid `T` (a
/// struct of integers): the kernel writes whatever it has over `value`.
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
#[allow(unsafe_code)]
unsafe fn tcp_option<T>(
    fd: std::os::fd::RawFd,
    name: libc::c_int,
    value: &mut T,
) -> io::Result<usize> {
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: the caller keeps `fd` open and lets any bytes be a `T`; the option writes
    // at most `len` bytes, the size of `value`, into it.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            name,
            (value as *mut T).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(len as usize)
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn no_out_of_order_count() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "this platform does not count out-of-order TCP packets",
    )
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use std::io;
    use std::os::fd::RawFd;

    /// Linux's `struct tcp_info` up to `tcpi_rcv_ooopack` (Linux 5.4). Fields are
    /// only ever appended to it, and the kernel copies as many bytes as it has and the
    /// caller asked for: a field is known when the copy reaches its end.
    #[repr(C)]
    #[derive(Default)]
    struct TcpInfo {
        state: u8,
        ca_state: u8,
        retransmits: u8,
        probes: u8,
        backoff: u8,
        options: u8,
        wscale: u8,
        flags: u8,
        rto: u32,
        ato: u32,
        snd_mss: u32,
        rcv_mss: u32,
        unacked: u32,
        sacked: u32,
        lost: u32,
        retrans: u32,
        fackets: u32,
        last_data_sent: u32,
        last_ack_sent: u32,
        last_data_recv: u32,
        last_ack_recv: u32,
        pmtu: u32,
        rcv_ssthresh: u32,
        rtt: u32,
        rttvar: u32,
        snd_ssthresh: u32,
        snd_cwnd: u32,
        advmss: u32,
        reordering: u32,
        rcv_rtt: u32,
        rcv_space: u32,
        total_retrans: u32,
        pacing_rate: u64,
        max_pacing_rate: u64,
        bytes_acked: u64,
        bytes_received: u64,
        segs_out: u32,
        segs_in: u32,
        notsent_bytes: u32,
        min_rtt: u32,
        data_segs_in: u32,
        data_segs_out: u32,
        delivery_rate: u64,
        busy_time: u64,
        rwnd_limited: u64,
        sndbuf_limited: u64,
        delivered: u32,
        delivered_ce: u32,
        bytes_sent: u64,
        bytes_retrans: u64,
        dsack_dups: u32,
        reord_seen: u32,
        rcv_ooopack: u32,
    }

    /// The socket's `TCP_INFO`, and how many of its bytes the kernel filled in.
    #[allow(unsafe_code)]
    fn tcp_info(fd: RawFd) -> io::Result<(TcpInfo, usize)> {
        let mut info = TcpInfo::default();
        // SAFETY: `fd` is borrowed from a live descriptor for the whole call, and
        // `TcpInfo` holds integers only.
        let len = unsafe { super::tcp_option(fd, libc::TCP_INFO, &mut info)? };
        Ok((info, len))
    }

    pub(super) fn selectively_acknowledged(fd: RawFd) -> io::Result<u64> {
        let (info, len) = tcp_info(fd)?;
        if len < std::mem::offset_of!(TcpInfo, lost) {
            return Err(io::Error::other("short TCP_INFO"));
        }
        Ok(u64::from(info.sacked) * u64::from(info.snd_mss))
    }

    pub(super) fn out_of_order_received(fd: RawFd) -> io::Result<u64> {
        let (info, len) = tcp_info(fd)?;
        if len < std::mem::size_of::<TcpInfo>() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this kernel does not count out-of-order packets (Linux 5.4 does)",
            ));
        }
        Ok(u64::from(info.rcv_ooopack))
    }

    #[cfg(all(test, target_env = "gnu"))]
    #[test]
    fn the_layout_is_the_kernels() {
        use std::mem::offset_of;
        assert_eq!(
            offset_of!(TcpInfo, sacked),
            offset_of!(libc::tcp_info, tcpi_sacked)
        );
        assert_eq!(
            offset_of!(TcpInfo, bytes_retrans),
            offset_of!(libc::tcp_info, tcpi_bytes_retrans)
        );
        assert_eq!(
            offset_of!(TcpInfo, rcv_ooopack),
            offset_of!(libc::tcp_info, tcpi_rcv_ooopack)
        );
    }

    #[allow(unsafe_code)]
    pub(super) fn unacknowledged(fd: RawFd) -> io::Result<u64> {
        let mut queued: libc::c_int = 0;
        // SAFETY: `fd` is borrowed from a live descriptor for the whole call, and
        // SIOCOUTQ (equal to TIOCOUTQ on Linux) writes one `int` through the pointer,
        // which points at `queued`.
        let rc = unsafe { libc::ioctl(fd, libc::TIOCOUTQ as _, &mut queued) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        u64::try_from(queued).map_err(|_| io::Error::other("negative send queue"))
    }
}

#[cfg(target_vendor = "apple")]
mod imp {
    use std::io;
    use std::os::fd::RawFd;

    pub(super) fn selectively_acknowledged(_fd: RawFd) -> io::Result<u64> {
        Ok(0)
    }

    /// `tcpi_rxoutoforderbytes` of the socket's `TCP_CONNECTION_INFO`: XNU's
    /// `tcp_reass` adds every segment that arrives with a sequence number other than
    /// the next expected one (while `net.statistics`, on by default, collects).
    #[allow(unsafe_code)]
    pub(super) fn out_of_order_received(fd: RawFd) -> io::Result<u64> {
        type Info = libc::tcp_connection_info;
        // SAFETY: every field of the struct is an integer or padding, for which zero
        // bytes are a value.
        let mut info: Info = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is borrowed from a live descriptor for the whole call, and any
        // bytes are an `Info`.
        let len = unsafe { super::tcp_option(fd, libc::TCP_CONNECTION_INFO, &mut info)? };
        let end = std::mem::offset_of!(Info, tcpi_rxoutoforderbytes) + std::mem::size_of::<u64>();
        if len < end {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this system does not count out-of-order bytes",
            ));
        }
        Ok(info.tcpi_rxoutoforderbytes)
    }

    #[allow(unsafe_code)]
    pub(super) fn unacknowledged(fd: RawFd) -> io::Result<u64> {
        let mut queued: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `fd` is borrowed from a live descriptor for the whole call;
        // SO_NWRITE writes at most `len` bytes (one `int`) into `queued`.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_NWRITE,
                (&mut queued as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        u64::try_from(queued).map_err(|_| io::Error::other("negative send queue"))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
mod imp {
    use std::io;
    use std::os::fd::RawFd;

    pub(super) fn selectively_acknowledged(_fd: RawFd) -> io::Result<u64> {
        Ok(0)
    }

    pub(super) fn out_of_order_received(_fd: RawFd) -> io::Result<u64> {
        Err(super::no_out_of_order_count())
    }

    pub(super) fn unacknowledged(_fd: RawFd) -> io::Result<u64> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this platform does not tell unacknowledged TCP bytes",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{ErrorKind, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    /// Polls `f` until it holds, for at most 5 s.
    fn eventually(mut f: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn bytes_the_receiver_has_no_room_for_stay_unacknowledged_until_it_reads() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut sender = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (mut receiver, _) = listener.accept().expect("accept");
        assert_eq!(unacknowledged(&sender).expect("idle socket"), 0);

        // The receiver reads nothing: write until its window and our buffer are full.
        sender.set_nonblocking(true).expect("nonblocking");
        let chunk = vec![7u8; 64 * 1024];
        let mut written = 0u64;
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && written < 256 << 20 {
            match sender.write(&chunk) {
                Ok(n) => written += n as u64,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("write: {e}"),
            }
        }
        // The sender's kernel holds what the receiver's window refused.
        let mut queued = 0;
        assert!(
            eventually(|| {
                queued = unacknowledged(&sender).expect("queue");
                queued > 0
            }),
            "nothing held back after {written} bytes"
        );
        assert!(queued < written, "{queued} of {written}");
        // No hole on loopback: nothing is held beyond one.
        assert_eq!(selectively_acknowledged(&sender).expect("tcp_info"), 0);
        assert_eq!(out_of_order_received(&receiver).expect("tcp_info"), 0);

        // Once the receiver reads everything, every byte is acknowledged.
        receiver
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = vec![0u8; 1 << 20];
        let mut read = 0u64;
        while read < written {
            read += receiver.read(&mut buf).expect("read") as u64;
        }
        assert_eq!(read, written);
        assert!(
            eventually(|| unacknowledged(&sender).expect("queue") == 0),
            "bytes still unacknowledged after the receiver read them all"
        );
    }

    #[test]
    fn a_socket_that_is_not_tcp_is_an_error_not_a_count() {
        // A listening socket has no send queue to tell.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        assert!(unacknowledged(&listener).is_err());
    }
}
