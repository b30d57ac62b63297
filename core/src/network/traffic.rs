//! Foreign traffic: how much of what crossed the measured interface was not the
//! engine's payload.
//!
//! A background download (an app update, a cloud sync) shares the link with the test
//! and makes the link look slower than it is. The engine cannot stop it, but it can
//! tell: the platform reads the interface's byte counters at the start and the end,
//! and whatever crossed beyond the payload and its protocol overhead was someone
//! else's. The share is an indicator, not an exact figure: bytes the stop rule cut
//! off in flight (already received by the kernel, never read by the engine, or sent
//! but not yet confirmed by the server) count as foreign too.

pub use ispeed_spec::network::InterfaceTraffic;

pub use crate::platform::InterfaceCounters;

use super::Transport;

/// IPv4 (20) + TCP (20) + the timestamp option (12) + an Ethernet header (14): the
/// bytes every packet adds to its payload in the interface counters. IPv6 adds 20
/// more, raw-IP modems 14 fewer; the difference is a fraction of a percent.
const HEADER_BYTES: u64 = 66;
/// TCP and IP headers, subtracted from the MTU to get the payload per segment.
const TCP_IP_HEADERS: u64 = 52;
/// MTU assumed when the platform does not report one.
const DEFAULT_MTU: u32 = 1500;

/// Compares the counters around a measurement with the payload it moved. `None` when
/// the counters went backwards (the interface was reset, or is another one now).
pub fn assess(
    interface: &str,
    transport: Transport,
    start: InterfaceCounters,
    end: InterfaceCounters,
    payload_bytes: u64,
) -> Option<InterfaceTraffic> {
    let rx = end.rx_bytes.checked_sub(start.rx_bytes)?;
    let tx = end.tx_bytes.checked_sub(start.tx_bytes)?;
    // On loopback every packet is counted twice, once sent and once received, and
    // the server's half of the conversation is on the same interface.
    let wire = if transport == Transport::Loopback {
        rx.max(tx)
    } else {
        rx + tx
    };
    let overhead = overhead_bytes(payload_bytes, end.mtu.or(start.mtu).unwrap_or(DEFAULT_MTU));
    let foreign = wire.saturating_sub(payload_bytes + overhead);
    let foreign_share = if wire == 0 {
        0.0
    } else {
        foreign as f64 / wire as f64
    };
    Some(InterfaceTraffic {
        interface: interface.to_owned(),
        rx_bytes: rx,
        tx_bytes: tx,
        wire_bytes: wire,
        payload_bytes,
        overhead_bytes: overhead,
        foreign_share,
    })
}

/// Header bytes of `payload` sent in full segments over a link of `mtu`, with the
/// receiver acknowledging every second segment (delayed ACK) in a header-only packet.
pub fn overhead_bytes(payload: u64, mtu: u32) -> u64 {
    let mss = u64::from(mtu).saturating_sub(TCP_IP_HEADERS).max(536);
    let segments = payload.div_ceil(mss);
    segments * HEADER_BYTES + segments.div_ceil(2) * HEADER_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(rx: u64, tx: u64) -> InterfaceCounters {
        InterfaceCounters {
            rx_bytes: rx,
            tx_bytes: tx,
            mtu: Some(1500),
        }
    }

    #[test]
    fn a_quiet_link_shows_no_foreign_traffic() {
        // 10 MB down, 5 MB up, with their headers and ACKs both ways.
        let payload = 15_000_000;
        let overhead = overhead_bytes(payload, 1500);
        let t = assess(
            "wwan0",
            Transport::Cellular,
            counters(1_000, 2_000),
            counters(
                1_000 + 10_000_000 + overhead / 2,
                2_000 + 5_000_000 + overhead / 2,
            ),
            payload,
        )
        .expect("counters moved forward");
        assert_eq!(t.foreign_share, 0.0);
        // about 6.8 % on a 1500-byte MTU
        assert!(
            (overhead as f64 / payload as f64 - 0.068).abs() < 0.002,
            "{overhead}"
        );
    }

    #[test]
    fn a_background_download_shows_up_as_its_share() {
        let payload = 10_000_000;
        let overhead = overhead_bytes(payload, 1500);
        let foreign = 5_000_000;
        let t = assess(
            "wwan0",
            Transport::Cellular,
            counters(0, 0),
            counters(payload + overhead + foreign, 0),
            payload,
        )
        .expect("counters moved forward");
        let want = foreign as f64 / (payload + overhead + foreign) as f64;
        assert!((t.foreign_share - want).abs() < 1e-9, "{}", t.foreign_share);
    }

    #[test]
    fn loopback_counts_each_packet_once() {
        let t = assess(
            "lo",
            Transport::Loopback,
            counters(0, 0),
            counters(1_000_000, 1_000_000),
            1_000_000,
        )
        .expect("counters moved forward");
        assert_eq!(t.foreign_share, 0.0);
    }

    #[test]
    fn reset_counters_give_no_figure() {
        let r = assess(
            "wwan0",
            Transport::Cellular,
            counters(10, 10),
            counters(5, 20),
            0,
        );
        assert_eq!(r, None);
    }
}
