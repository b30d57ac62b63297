//! Receipts: what the server moved for each measurement, signed on request
//! (docs/trust.md, `ispeed_spec::attestation`).
//!
//! A server with a signing key tallies, per result id (the client's
//! [`RESULT_HEADER`]), the download bytes it handed to connections, the upload body
//! bytes it read, the first and last of each on its wall clock, and the client's /24
//! or /48. `POST /receipt` with the same header, from the same block, answers the
//! signed [`Receipt`] of that tally.
//!
//! The book is bounded in time and memory whatever clients send: a tally lives at
//! most [`BookLimits::ttl`]; at most [`BookLimits::max_ids`] are held (fixed-size
//! entries, so bytes are bounded too: [`ReceiptBook::approx_bytes`]); and one address
//! block holds at most [`BookLimits::max_per_block`], its oldest giving way first, so
//! a client inventing a new id for every request only evicts its own. Tallying never
//! delays or refuses a request: a measurement whose tally was evicted is measured as
//! well as any other, it just gets no receipt.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ispeed_collector::keys::ServerSigner;
use ispeed_spec::attestation::{
    Attestation, Moved, RECEIPT_SCHEMA, RESULT_HEADER, Receipt, client_block,
};
use uuid::Uuid;

use crate::AppState;

/// Bounds of a [`ReceiptBook`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookLimits {
    /// Result ids held at most (about [`ENTRY_BYTES`] each).
    pub max_ids: usize,
    /// Result ids one address block holds at most.
    pub max_per_block: usize,
    /// How long a tally is kept after its first request: a measurement lasts under
    /// two minutes and asks for its receipt at once.
    pub ttl: Duration,
}

impl Default for BookLimits {
    fn default() -> Self {
        Self {
            // 16,384 concurrent measurements in ten minutes is far beyond one
            // server's links, and about 4 MB.
            max_ids: 16_384,
            // A carrier-grade NAT block may carry many phones measuring at once.
            max_per_block: 256,
            ttl: Duration::from_secs(600),
        }
    }
}

/// Upper estimate of one held tally in memory, bytes: the tally, its address block
/// (at most 43 characters), the map and queue slots that index it.
pub const ENTRY_BYTES: usize = 256;

/// Bytes moved in one direction, updated by the handlers without a lock.
#[derive(Debug, Default)]
struct Flow {
    bytes: AtomicU64,
    /// Unix ms of the first and last bytes; 0 before any.
    first_ms: AtomicI64,
    last_ms: AtomicI64,
}

impl Flow {
    fn add(&self, n: u64) {
        let now = Utc::now().timestamp_millis();
        self.bytes.fetch_add(n, Ordering::Relaxed);
        let _ = self
            .first_ms
            .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        self.last_ms.fetch_max(now, Ordering::Relaxed);
    }

    fn moved(&self) -> Option<Moved> {
        let bytes = self.bytes.load(Ordering::Relaxed);
        let at = |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms);
        match (
            at(self.first_ms.load(Ordering::Relaxed)),
            at(self.last_ms.load(Ordering::Relaxed)),
        ) {
            (Some(first_at), Some(last_at)) if bytes > 0 => Some(Moved {
                bytes,
                first_at,
                last_at,
            }),
            _ => None,
        }
    }
}

/// What the server moved for one result id.
#[derive(Debug)]
pub struct Tally {
    block: String,
    requests: AtomicU64,
    down: Flow,
    up: Flow,
}

impl Tally {
    /// Download payload bytes handed to a connection.
    pub fn sent(&self, n: u64) {
        self.down.add(n);
    }

    /// Upload body bytes read.
    pub fn received(&self, n: u64) {
        self.up.add(n);
    }
}

#[derive(Debug, Default)]
struct Inner {
    tallies: HashMap<Uuid, (Arc<Tally>, Instant)>,
    /// Ids in creation order (may hold ids already evicted; compacted when long).
    order: VecDeque<Uuid>,
    /// Ids of each block, oldest first.
    blocks: HashMap<String, VecDeque<Uuid>>,
}

impl Inner {
    fn remove(&mut self, id: &Uuid) {
        if let Some((tally, _)) = self.tallies.remove(id)
            && let Some(ids) = self.blocks.get_mut(&tally.block)
        {
            ids.retain(|x| x != id);
            if ids.is_empty() {
                self.blocks.remove(&tally.block);
            }
        }
    }
}

/// The server's signing key and its tallies.
#[derive(Debug)]
pub struct ReceiptBook {
    signer: Option<ServerSigner>,
    limits: BookLimits,
    inner: Mutex<Inner>,
}

impl ReceiptBook {
    /// A book signing with `signer`; without one nothing is tallied or signed.
    pub fn new(signer: Option<ServerSigner>, limits: BookLimits) -> Self {
        Self {
            signer,
            limits,
            inner: Mutex::default(),
        }
    }

    /// The signing key, when the server has one.
    pub fn signer(&self) -> Option<&ServerSigner> {
        self.signer.as_ref()
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The tally of `id` for a client at `peer`, created when new (evicting as the
    /// limits say); `None` without a key, or for an id held for another block.
    pub fn tally(&self, id: Uuid, peer: SocketAddr) -> Option<Arc<Tally>> {
        self.signer.as_ref()?;
        let block = client_block(peer.ip());
        let now = Instant::now();
        let mut inner = self.inner();
        if let Some((tally, _)) = inner.tallies.get(&id) {
            return (tally.block == block).then(|| tally.clone());
        }
        // Expired tallies leave from the front of the creation order.
        while let Some(front) = inner.order.front().copied() {
            match inner.tallies.get(&front) {
                Some((_, created)) if now.duration_since(*created) < self.limits.ttl => break,
                Some(_) => {
                    inner.remove(&front);
                    inner.order.pop_front();
                }
                None => {
                    inner.order.pop_front();
                }
            }
        }
        // A block at its share gives up its own oldest.
        let oldest_of_block = inner
            .blocks
            .get(&block)
            .filter(|ids| ids.len() >= self.limits.max_per_block)
            .and_then(|ids| ids.front().copied());
        if let Some(old) = oldest_of_block {
            inner.remove(&old);
        }
        // The whole book full: the oldest anywhere gives way.
        while inner.tallies.len() >= self.limits.max_ids {
            match inner.order.pop_front() {
                Some(old) => inner.remove(&old),
                None => break,
            }
        }
        if inner.order.len() > 2 * self.limits.max_ids.max(1) {
            let Inner { tallies, order, .. } = &mut *inner;
            order.retain(|id| tallies.contains_key(id));
        }
        let tally = Arc::new(Tally {
            block: block.clone(),
            requests: AtomicU64::new(0),
            down: Flow::default(),
            up: Flow::default(),
        });
        inner.tallies.insert(id, (tally.clone(), now));
        inner.order.push_back(id);
        inner.blocks.entry(block).or_default().push_back(id);
        Some(tally)
    }

    /// Result ids held.
    pub fn len(&self) -> usize {
        self.inner().tallies.len()
    }

    /// Whether no id is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Upper estimate of the memory the held tallies take, bytes.
    pub fn approx_bytes(&self) -> usize {
        let inner = self.inner();
        inner.tallies.len() * ENTRY_BYTES + inner.order.len() * std::mem::size_of::<Uuid>()
    }

    /// The signed receipt of `id` for a client at `peer` (which must be in the block
    /// that measured), or `None`.
    pub fn receipt(&self, id: Uuid, peer: SocketAddr) -> Option<Attestation> {
        let signer = self.signer.as_ref()?;
        let tally = self.inner().tallies.get(&id).map(|(t, _)| t.clone())?;
        if tally.block != client_block(peer.ip()) {
            return None;
        }
        let receipt = Receipt {
            schema: RECEIPT_SCHEMA.to_owned(),
            result_id: id,
            key_id: signer.key_id().to_owned(),
            issued_at: Utc::now(),
            client_block: tally.block.clone(),
            requests: tally.requests.load(Ordering::Relaxed),
            download: tally.down.moved(),
            upload: tally.up.moved(),
        };
        let payload = serde_json::to_string(&receipt).ok()?;
        Some(signer.attest(payload))
    }
}

/// The result id a request carries, when it carries a well-formed one.
fn result_id(headers: &HeaderMap) -> Option<Uuid> {
    headers
        .get(RESULT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
}

fn peer(req: &Request) -> Option<SocketAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// Middleware of the measurement routes: hands the request's [`Tally`] to the
/// handler (as an extension) and counts the request.
pub async fn track(State(app): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    if let (Some(id), Some(peer)) = (result_id(req.headers()), peer(&req))
        && let Some(tally) = app.receipts.tally(id, peer)
    {
        tally.requests.fetch_add(1, Ordering::Relaxed);
        req.extensions_mut().insert(tally);
    }
    next.run(req).await
}

/// `POST /receipt`: the signed receipt of the result the header names.
pub async fn receipt(State(app): State<Arc<AppState>>, req: Request) -> Response {
    let found = match (result_id(req.headers()), peer(&req)) {
        (Some(id), Some(peer)) => app.receipts.receipt(id, peer),
        _ => None,
    };
    match found {
        Some(a) => crate::routes::no_store(axum::Json(a).into_response()),
        None => (
            StatusCode::NOT_FOUND,
            "no receipt: this server holds no key, or no tally for this result from your address",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(
            ip.parse().unwrap_or(std::net::IpAddr::from([127, 0, 0, 1])),
            40000,
        )
    }

    fn book(max_ids: usize, max_per_block: usize) -> ReceiptBook {
        ReceiptBook::new(
            Some(ServerSigner::generate()),
            BookLimits {
                max_ids,
                max_per_block,
                ttl: Duration::from_secs(600),
            },
        )
    }

    #[test]
    fn a_flood_of_ids_from_one_block_keeps_the_book_bounded_and_others_intact() {
        let b = book(1000, 50);
        let honest = Uuid::new_v4();
        let tally = b.tally(honest, peer("198.51.100.7"));
        assert!(tally.is_some());
        for _ in 0..100_000 {
            let _ = b.tally(Uuid::new_v4(), peer("203.0.113.9"));
        }
        assert_eq!(
            b.len(),
            51,
            "the flooder's block holds its share, the honest id stays"
        );
        assert!(b.approx_bytes() <= 1000 * ENTRY_BYTES + 2 * 1000 * 16);
        if let Some(t) = tally {
            t.sent(1000);
        }
        assert!(b.receipt(honest, peer("198.51.100.99")).is_some());
        // From another block the receipt is refused.
        assert!(b.receipt(honest, peer("192.0.2.1")).is_none());
    }

    #[test]
    fn a_flood_from_many_blocks_is_bounded_by_the_total() {
        let b = book(1000, 50);
        for i in 0..50_000u32 {
            let [_, x, y, z] = i.to_be_bytes();
            let _ = b.tally(Uuid::new_v4(), peer(&format!("10.{x}.{y}.{z}")));
        }
        assert_eq!(b.len(), 1000);
        assert!(b.approx_bytes() <= 1000 * ENTRY_BYTES + 2 * 1000 * 16);
    }

    #[test]
    fn without_a_key_nothing_is_held() {
        let b = ReceiptBook::new(None, BookLimits::default());
        assert!(b.tally(Uuid::new_v4(), peer("198.51.100.7")).is_none());
        assert!(b.is_empty());
    }
}
