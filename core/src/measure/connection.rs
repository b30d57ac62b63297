//! The connection a transfer stream sends or receives on, with what its kernel knows
//! readable at any instant: the bytes the server's TCP has acknowledged, and whether
//! segments wait behind a hole.
//!
//! A LibreSpeed or Cloudflare server confirms a body only once it has read all of it.
//! Between two answers nothing was known, and the count was a line drawn between
//! confirmations a second or more apart on a slow uplink. The kernel knows more: a
//! byte written to the socket that it no longer holds in the send queue was
//! acknowledged by the server's TCP, so it crossed the link ([`ispeed_sendqueue`]);
//! so did a byte it acknowledged selectively, beyond a hole that a retransmission
//! has yet to fill.
//! [`Connection::send`] reports that count every [`POLL`] while a body is in
//! flight; the server's answer still confirms the body as a whole. The same polls
//! tell a native upload's stream when its server's reads wait behind a hole, and
//! [`Connection::fetch`] tells a download's stream when its own reads do.
//!
//! reqwest does not lend its sockets, so this module opens the connection itself, as
//! [`crate::http`] configures reqwest's: hyper's HTTP/1.1 client over a tokio socket,
//! bound to the measurement's interface, TLS by tokio-rustls with the same roots, no
//! proxy, no redirect, the same headers.

use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderValue};
use hyper_util::rt::TokioIo;
use reqwest::{Body, Url};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use crate::config::MeasureConfig;
use crate::error::{Error, Result, error_chain};
use ispeed_spec::measure::Phase;

/// How often the acknowledged count is read while a body is in flight.
pub(crate) const POLL: Duration = Duration::from_millis(50);

/// Bytes on the wire per payload byte inside TLS 1.3 records: a full record carries
/// 16,384 bytes of data and 22 of header, content type and AEAD tag.
const TLS_RECORD_OVERHEAD: f64 = (16_384.0 + 22.0) / 16_384.0;

/// Where a transfer stream connects and what it asks for: the resource, the
/// measurement's settings, and the result its requests name.
#[derive(Clone)]
pub(crate) struct Target {
    pub url: Url,
    pub config: Arc<MeasureConfig>,
    pub result: Option<uuid::Uuid>,
}

impl Target {
    /// Opens a connection of the stream's own to the target's server.
    pub(crate) async fn open(&self, phase: Phase) -> Result<Connection> {
        Connection::open(&self.url, &self.config, self.result, phase).await
    }
}

/// One HTTP/1.1 connection of a transfer stream: upload bodies sent one at a time, or
/// one download.
pub(crate) struct Connection {
    sender: SendRequest<Body>,
    /// A duplicate of the connection's descriptor, to read what its kernel knows.
    socket: OwnedFd,
    /// Bytes written to the socket so far.
    written: Arc<AtomicU64>,
    /// Wire bytes per payload byte.
    overhead: f64,
    host: String,
    authority: HeaderValue,
    path: String,
    result: Option<HeaderValue>,
}

impl Connection {
    /// Opens a connection to `url`'s server with `config`'s interface, timeouts and
    /// roots; `result` is named on every request, as [`crate::http::client_for`] does.
    pub(crate) async fn open(
        url: &Url,
        config: &MeasureConfig,
        result: Option<uuid::Uuid>,
        phase: Phase,
    ) -> Result<Self> {
        let host = url.host_str().unwrap_or_default().to_owned();
        let tls = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(Error::InvalidUrl {
                    url: url.to_string(),
                    reason: format!("unsupported scheme {other}"),
                });
            }
        };
        let tcp = tokio::time::timeout(config.connect_timeout, connect(url, config))
            .await
            .map_err(|_| Error::Unreachable {
                host: host.clone(),
                detail: format!(
                    "no connection within {} ms",
                    config.connect_timeout.as_millis()
                ),
            })??;
        tcp.set_nodelay(true)
            .map_err(|e| connection_lost(phase, &e))?;
        let socket = tcp
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| connection_lost(phase, &e))?;
        let written = Arc::new(AtomicU64::new(0));
        let counted = CountWrites {
            inner: tcp,
            written: written.clone(),
        };
        let io: Box<dyn Io> = if tls {
            let connector = tokio_rustls::TlsConnector::from(Arc::new(tls_config(config)?));
            let name = server_name(url)?;
            let stream =
                tokio::time::timeout(config.connect_timeout, connector.connect(name, counted))
                    .await
                    .map_err(|_| Error::Tls {
                        host: host.clone(),
                        detail: "no TLS handshake within the connect timeout".to_owned(),
                    })?
                    .map_err(|e| Error::from_transport(phase, &host, &e, true))?;
            Box::new(stream)
        } else {
            Box::new(counted)
        };
        let (sender, connection) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(io))
            .await
            .map_err(|e| Error::from_transport(phase, &host, &e, true))?;
        // The connection drives itself; its errors reach the request that was sent.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        Ok(Self {
            sender,
            socket,
            written,
            overhead: if tls { TLS_RECORD_OVERHEAD } else { 1.0 },
            host,
            authority: HeaderValue::from_str(&authority).map_err(|_| Error::InvalidUrl {
                url: url.to_string(),
                reason: "the host is not a valid header".to_owned(),
            })?,
            path,
            result: result.and_then(|id| HeaderValue::from_str(&id.to_string()).ok()),
        })
    }

    /// Whether another body can be sent on this connection: false once the server
    /// closed it.
    pub(crate) async fn is_reusable(&mut self) -> bool {
        self.sender.ready().await.is_ok()
    }

    /// A request for this connection's resource, with the headers every request of
    /// the measurement carries.
    fn request(&self, method: hyper::Method) -> hyper::http::request::Builder {
        let request = hyper::Request::builder()
            .method(method)
            .uri(self.path.as_str())
            .header(header::HOST, self.authority.clone())
            .header(
                header::USER_AGENT,
                concat!("ispeed/", env!("CARGO_PKG_VERSION")),
            );
        match &self.result {
            Some(id) => request.header(ispeed_spec::attestation::RESULT_HEADER, id.clone()),
            None => request,
        }
    }

    /// Asks for the resource and reads the answer's body, each piece to `data`, once
    /// `check` has accepted its status and headers.
    ///
    /// Every [`POLL`], and before each piece, `out_of_order` gets how much the kernel
    /// has received out of order on this connection so far, where the platform tells
    /// ([`ispeed_sendqueue::out_of_order_received`]: segments on Linux, bytes on
    /// Apple's systems). No answer within `answer_within`, or no piece for the stall
    /// limit, fails the exchange.
    pub(crate) async fn fetch(
        &mut self,
        limits: ExchangeLimits,
        answer_within: Duration,
        check: impl FnOnce(hyper::StatusCode, &hyper::HeaderMap) -> Result<()>,
        mut out_of_order: impl FnMut(u64),
        mut data: impl FnMut(&[u8]),
    ) -> Result<()> {
        let phase = limits.phase;
        let request = self
            .request(hyper::Method::GET)
            .body(Body::from(bytes::Bytes::new()))
            .map_err(|e| Error::Protocol {
                phase,
                detail: format!("cannot build the download request: {e}"),
            })?;
        let response = tokio::time::timeout(answer_within, self.sender.send_request(request))
            .await
            .map_err(|_| Error::Timeout {
                phase,
                after: answer_within,
            })?
            .map_err(|e| Error::from_transport(phase, &self.host, &e, false))?;
        check(response.status(), response.headers())?;
        let mut moved_at = Instant::now();
        let socket = &self.socket;
        read_body(response.into_body(), phase, &self.host, |event| {
            if let Ok(n) = ispeed_sendqueue::out_of_order_received(socket) {
                out_of_order(n);
            }
            match event {
                BodyEvent::Piece(piece) => {
                    moved_at = Instant::now();
                    data(piece);
                }
                BodyEvent::Tick if moved_at.elapsed() > limits.stall => {
                    return Err(Error::Stalled {
                        phase,
                        after: limits.stall,
                    });
                }
                BodyEvent::Tick => {}
            }
            Ok(())
        })
        .await
    }

    /// Sends `body` (`len` payload bytes) and reads the server's whole answer, which
    /// may begin before the body has all left (the native server's reports).
    ///
    /// Until the answer has ended, `acknowledged` is called every [`POLL`] with what
    /// the server's TCP has acknowledged of this body so far (payload never more than
    /// `len`, never less than before); where the platform cannot tell, it
    /// is never called. Each piece of the answer's body goes to `answer`, after a fresh
    /// `acknowledged` where the platform tells. Once
    /// acknowledgements are known, `stall` without either moving fails the exchange.
    pub(crate) async fn send(
        &mut self,
        len: u64,
        body: Body,
        limits: ExchangeLimits,
        mut acknowledged: impl FnMut(Acknowledged),
        mut answer: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let phase = limits.phase;
        let request = self
            .request(hyper::Method::POST)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::CONTENT_LENGTH, len)
            .body(body)
            .map_err(|e| Error::Protocol {
                phase,
                detail: format!("cannot build the upload request: {e}"),
            })?;
        let head = head_len(&request);
        // Every byte before this body was acknowledged: the previous answer carried it.
        let base = self.written.load(Ordering::Acquire);
        let mut progress = Progress {
            reported: 0,
            moved_at: Instant::now(),
            known: false,
        };
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        acknowledge_lazily(&self.socket);
        let response = self.sender.send_request(request);
        tokio::pin!(response);
        let response = loop {
            tokio::select! {
                r = &mut response => break r,
                _ = poll.tick() => {
                    let acked = self.acknowledged_payload(base, head, len);
                    progress.update(acked, &mut acknowledged, limits)?;
                }
            }
        }
        .map_err(|e| Error::from_transport(phase, &self.host, &e, false))?;
        crate::http::check_answer(response.status(), response.headers(), phase)?;
        read_body(response.into_body(), phase, &self.host, |event| {
            acknowledge_lazily(&self.socket);
            // On a piece, the acknowledgements first: the server's TCP sent them before
            // the answer that follows from the bytes they cover.
            let acked = self.acknowledged_payload(base, head, len);
            progress.update(acked, &mut acknowledged, limits)?;
            if let BodyEvent::Piece(data) = event {
                progress.moved_at = Instant::now();
                progress.known = true;
                answer(data)?;
            }
            Ok(())
        })
        .await
    }

    /// Payload bytes of the body sent after `base` wire bytes, behind a head of
    /// `head` bytes, that the server's TCP has acknowledged.
    fn acknowledged_payload(&self, base: u64, head: u64, len: u64) -> Option<Acknowledged> {
        // Read the count before the queue: a write between the two reads then shows in
        // the queue only, and counts low for one poll instead of high.
        let written = self.written.load(Ordering::Acquire);
        let queued = ispeed_sendqueue::unacknowledged(&self.socket).ok()?;
        // Segments received beyond a hole crossed the link too: counted now, not
        // when the retransmission fills the hole a second or more later.
        let beyond_hole = ispeed_sendqueue::selectively_acknowledged(&self.socket)
            .unwrap_or(0)
            .min(queued);
        let wire = (written + beyond_hole)
            .saturating_sub(queued)
            .saturating_sub(base);
        let payload = (wire as f64 / self.overhead) as u64;
        Some(Acknowledged {
            payload: payload.saturating_sub(head).min(len),
            beyond_hole,
        })
    }
}

/// What the server's TCP has acknowledged of a body in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Acknowledged {
    /// Payload bytes acknowledged, selectively too: they crossed the link.
    pub payload: u64,
    /// Bytes of it acknowledged only selectively, waiting at the server behind a hole
    /// for a retransmission: the server cannot read them yet.
    pub beyond_hole: u64,
}

/// What reading an answer's body brings.
enum BodyEvent<'a> {
    /// A piece of the body.
    Piece(&'a [u8]),
    /// A [`POLL`] went by.
    Tick,
}

/// Reads an answer's body to its end, handing `event` each piece and a tick every
/// [`POLL`]; an error from `event` or the connection ends it.
async fn read_body(
    mut body: hyper::body::Incoming,
    phase: Phase,
    host: &str,
    mut event: impl FnMut(BodyEvent<'_>) -> Result<()>,
) -> Result<()> {
    let mut poll = tokio::time::interval(POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            frame = body.frame() => match frame {
                None => return Ok(()),
                Some(Err(e)) => return Err(Error::from_transport(phase, host, &e, false)),
                Some(Ok(frame)) => {
                    if let Some(piece) = frame.data_ref() {
                        event(BodyEvent::Piece(piece))?;
                    }
                }
            },
            _ = poll.tick() => event(BodyEvent::Tick)?,
        }
    }
}

/// Lets the kernel delay the acknowledgement of what the server sends on an upload's
/// connection (its answer, or the native server's report lines), so that it rides on
/// the next data segment instead of taking a packet of its own on the uplink being
/// measured. Linux acknowledges a new connection's first 16 segments at once
/// (quick-ack mode): on a 3 Mbit/s uplink the report lines' acknowledgements took
/// 0.32-0.43 % of the link, and 0.13-0.23 % with this. Linux leaves the mode when a
/// delayed acknowledgement had to go alone, so it is asked again at every read.
/// Elsewhere a no-op.
fn acknowledge_lazily(socket: &OwnedFd) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = socket2::SockRef::from(socket).set_tcp_quickack(false);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = socket;
}

/// The bounds of one exchange on a [`Connection`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExchangeLimits {
    /// The phase, for errors.
    pub phase: Phase,
    /// How long neither the acknowledged count nor the answer may move.
    pub stall: Duration,
}

/// What an exchange has reported and when something last moved.
struct Progress {
    reported: u64,
    moved_at: Instant,
    /// Whether anything can be seen to move: acknowledgements (where the platform
    /// tells) or an answer already under way.
    known: bool,
}

impl Progress {
    /// Takes a fresh acknowledged count: reports it if it grew (selective
    /// acknowledgements are counted in whole segments, and a receiver may renege on
    /// them, so the count reported only ever grows), fails once nothing has moved
    /// for the stall limit.
    fn update(
        &mut self,
        acked: Option<Acknowledged>,
        report: &mut impl FnMut(Acknowledged),
        limits: ExchangeLimits,
    ) -> Result<()> {
        let now = Instant::now();
        if let Some(acked) = acked {
            self.known = true;
            if acked.payload > self.reported {
                self.reported = acked.payload;
                self.moved_at = now;
            }
            report(Acknowledged {
                payload: self.reported,
                ..acked
            });
        }
        if self.known && now.duration_since(self.moved_at) > limits.stall {
            return Err(Error::Stalled {
                phase: limits.phase,
                after: limits.stall,
            });
        }
        Ok(())
    }
}

/// The size of a request's head as HTTP/1.1 writes it.
fn head_len<B>(request: &hyper::Request<B>) -> u64 {
    let line = "POST ".len() + request.uri().to_string().len() + " HTTP/1.1\r\n".len();
    let fields: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + ": ".len() + value.len() + "\r\n".len())
        .sum();
    (line + fields + "\r\n".len()) as u64
}

/// Connects to the first of `url`'s addresses that answers, bound to the interface.
async fn connect(url: &Url, config: &MeasureConfig) -> Result<TcpStream> {
    let host = url.host_str().unwrap_or_default().to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<_> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![(ip, port).into()],
        Some(url::Host::Ipv6(ip)) => vec![(ip, port).into()],
        _ => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| Error::Unreachable {
                host: host.clone(),
                detail: e.to_string(),
            })?
            .collect(),
    };
    let mut last = None;
    for addr in addrs {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        };
        let attempt = async {
            let socket = socket?;
            bind_interface(&socket, config.interface.as_deref())?;
            socket.connect(addr).await
        };
        match attempt.await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Error::ConnectionRefused { host }
        }
        Some(e) => Error::Unreachable {
            host,
            detail: e.to_string(),
        },
        None => Error::Unreachable {
            host,
            detail: "the name has no address".to_owned(),
        },
    })
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn bind_interface(socket: &TcpSocket, interface: Option<&str>) -> std::io::Result<()> {
    match interface {
        Some(name) => socket.bind_device(Some(name.as_bytes())),
        None => Ok(()),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn bind_interface(_socket: &TcpSocket, interface: Option<&str>) -> std::io::Result<()> {
    match interface {
        Some(name) => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("binding to interface {name} is only supported on Linux and Android"),
        )),
        None => Ok(()),
    }
}

/// The TLS client configuration: the public roots reqwest trusts plus the
/// measurement's extra roots, HTTP/1.1 only.
fn tls_config(config: &MeasureConfig) -> Result<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for pem in &config.extra_root_certificates {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| Error::Config(format!("extra root certificate: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| Error::Config(format!("extra root certificate: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("cannot set up TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tls)
}

fn server_name(url: &Url) -> Result<rustls::pki_types::ServerName<'static>> {
    let name = match url.host() {
        Some(url::Host::Ipv4(ip)) => return Ok(std::net::IpAddr::V4(ip).into()),
        Some(url::Host::Ipv6(ip)) => return Ok(std::net::IpAddr::V6(ip).into()),
        Some(url::Host::Domain(d)) => d.to_owned(),
        None => String::new(),
    };
    rustls::pki_types::ServerName::try_from(name).map_err(|e| Error::InvalidUrl {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

fn connection_lost(phase: Phase, e: &std::io::Error) -> Error {
    Error::ConnectionLost {
        phase,
        detail: error_chain(e),
    }
}

/// What hyper drives: a plain or TLS stream.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A socket that counts the bytes written to it.
struct CountWrites {
    inner: TcpStream,
    written: Arc<AtomicU64>,
}

impl CountWrites {
    fn count(&self, n: usize) {
        self.written.fetch_add(n as u64, Ordering::AcqRel);
    }
}

impl AsyncRead for CountWrites {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountWrites {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            self.count(n);
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            self.count(n);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that reads one request's body at `rate` bytes a second, then answers;
    /// returns its URL and a count of the body bytes it has read.
    async fn slow_reader(rate: u64) -> (Url, Arc<AtomicU64>) {
        // A small receive buffer, inherited by the accepted socket, so the kernel
        // cannot take the whole body ahead of the reads whatever `tcp_rmem` allows.
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(64 * 1024).expect("buffer");
        socket
            .bind("127.0.0.1:0".parse().expect("addr"))
            .expect("bind");
        let listener = socket.listen(1).expect("listen");
        let url = Url::parse(&format!(
            "http://{}/empty.php",
            listener.local_addr().expect("addr")
        ))
        .expect("url");
        let read = Arc::new(AtomicU64::new(0));
        let counted = read.clone();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 16 * 1024];
            let mut head = Vec::new();
            let body_start = loop {
                let n = tcp.read(&mut buf).await.expect("read head");
                head.extend_from_slice(&buf[..n]);
                if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    break end + 4;
                }
            };
            let text = String::from_utf8_lossy(&head[..body_start]).to_ascii_lowercase();
            let len: u64 = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse().ok())
                .expect("content-length");
            let mut got = (head.len() - body_start) as u64;
            let tick = Duration::from_millis(10);
            while got < len {
                tokio::time::sleep(tick).await;
                let want = ((rate as f64 * tick.as_secs_f64()) as usize).min(buf.len());
                let n = tcp.read(&mut buf[..want]).await.expect("read body");
                got += n as u64;
                counted.store(got, Ordering::Release);
            }
            tcp.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await
                .expect("answer");
            // Hold the connection until the client is done with it.
            let _ = tcp.read(&mut buf).await;
        });
        (url, read)
    }

    #[tokio::test]
    async fn acknowledged_bytes_are_counted_while_the_body_is_in_flight() {
        let (url, server_read) = slow_reader(4 << 20).await;
        let mut conn = Connection::open(&url, &MeasureConfig::default(), None, Phase::Upload)
            .await
            .expect("connect");
        let len = 4u64 << 20;
        let body = Body::from(vec![0u8; len as usize]);
        let mut seen = Vec::new();
        let limits = ExchangeLimits {
            phase: Phase::Upload,
            stall: Duration::from_secs(5),
        };
        conn.send(
            len,
            body,
            limits,
            |acked| seen.push((acked.payload, server_read.load(Ordering::Acquire))),
            |_| Ok(()),
        )
        .await
        .expect("the body is answered");

        // About a second at 4 MiB/s: the count moved in many steps before the answer,
        // never backwards, never past the body.
        let inside: Vec<_> = seen.iter().filter(|(a, _)| *a > 0 && *a < len).collect();
        assert!(inside.len() >= 5, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
        // Acknowledged bytes are received bytes: ahead of the server's reads by no
        // more than its socket buffer holds (the kernel doubles the 64 KiB asked),
        // never by the client's send buffer.
        for &(acked, read) in &seen {
            assert!(acked <= len);
            assert!(
                acked <= read + (256 << 10),
                "{acked} acknowledged, {read} read"
            );
        }
        assert!(
            conn.is_reusable().await,
            "the connection stays open for the next body"
        );
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[tokio::test]
    async fn an_upload_connection_asks_for_delayed_acknowledgements() {
        let (url, _) = slow_reader(1 << 20).await;
        let conn = Connection::open(&url, &MeasureConfig::default(), None, Phase::Upload)
            .await
            .expect("connect");
        let socket = socket2::SockRef::from(&conn.socket);
        // A fresh connection acknowledges at once (Linux's quick-ack mode)...
        assert!(socket.tcp_quickack().expect("TCP_QUICKACK"));
        // ...until asked: then an acknowledgement waits to ride on a data segment.
        acknowledge_lazily(&conn.socket);
        assert!(!socket.tcp_quickack().expect("TCP_QUICKACK"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_exchange_whose_count_stands_still_stalls_and_never_reports_less() {
        let limits = ExchangeLimits {
            phase: Phase::Upload,
            stall: Duration::from_secs(5),
        };
        let mut progress = Progress {
            reported: 0,
            moved_at: Instant::now(),
            known: false,
        };
        let mut seen = Vec::new();
        // Nothing known (no acknowledgements on this platform, no answer yet): the
        // exchange is left to the caller's own timeout.
        tokio::time::advance(Duration::from_secs(6)).await;
        let mut push = |a: Acknowledged| seen.push(a.payload);
        assert!(progress.update(None, &mut push, limits).is_ok());
        // A count that grows, then falls back (a receiver reneging on selective
        // acknowledgements): reported as it was at its highest.
        let acked = |payload| {
            Some(Acknowledged {
                payload,
                beyond_hole: 0,
            })
        };
        for payload in [1000, 5000, 3000] {
            tokio::time::advance(Duration::from_secs(1)).await;
            assert!(progress.update(acked(payload), &mut push, limits).is_ok());
        }
        // Standing still for longer than the stall limit fails the exchange.
        tokio::time::advance(Duration::from_secs(5)).await;
        let e = progress.update(acked(5000), &mut push, limits);
        assert_eq!(seen, [1000, 5000, 5000, 5000]);
        assert!(matches!(e, Err(Error::Stalled { .. })), "{e:?}");
    }

    #[test]
    fn the_head_is_measured_as_http_1_1_writes_it() {
        let request = hyper::Request::post("/__up?x=1")
            .header(header::HOST, "example.org")
            .header(header::CONTENT_LENGTH, 10)
            .body(())
            .expect("request");
        let written = "POST /__up?x=1 HTTP/1.1\r\nhost: example.org\r\ncontent-length: 10\r\n\r\n";
        assert_eq!(head_len(&request), written.len() as u64);
    }
}
