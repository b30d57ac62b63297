//! Download: parallel GETs of random payload, counted as it arrives.
//!
//! Each stream asks for its share of the byte budget in one request, so the phase can
//! never move more than the budget; when the stop rule fires the connections are
//! closed, and only what was already in flight is spent beyond the measured window.
//! Streams use connections of their own (`Connection`), whose kernel tells when
//! bytes wait behind a hole (`ReceiveHold`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connection::{ExchangeLimits, POLL, Target};
use super::transfer::{self, Probe, ReadAt, StreamLog, TransferPlan};
use super::{Phase, ProgressEvent, ProgressListener};
use crate::config::MeasureConfig;
use crate::error::{Error, Result};
use crate::protocol::ServerProtocol;
use crate::result::TransferResult;

const PHASE: Phase = Phase::Download;

/// Runs the download phase.
pub async fn measure(
    protocol: &dyn ServerProtocol,
    config: &MeasureConfig,
    probe: Option<Probe>,
    listener: &dyn ProgressListener,
) -> Result<TransferResult> {
    listener.on_event(&ProgressEvent::PhaseStarted { phase: PHASE });
    let t = config.download;
    let share = t.max_bytes.div_ceil(u64::from(t.streams));
    let target = Target {
        url: protocol.download_url(share),
        config: Arc::new(config.clone()),
        result: protocol.result_id(),
    };
    let plan = TransferPlan {
        phase: PHASE,
        transfer: t,
        config,
        read_at: ReadAt::Now,
        probe,
    };
    transfer::run(plan, listener, move |_, log, stop| {
        let target = target.clone();
        async move { stream(target, log, stop).await }
    })
    .await
}

/// One request for the stream's share on a connection of its own, counted as it is
/// read, and held while bytes wait behind a hole ([`ReceiveHold`]).
async fn stream(target: Target, log: Arc<StreamLog>, stop: CancellationToken) -> Result<()> {
    let config = &target.config;
    let exchange = async {
        let mut connection = target.open(PHASE).await?;
        let received = Mutex::new(Received::default());
        let limits = ExchangeLimits {
            phase: PHASE,
            stall: config.stall_timeout,
        };
        connection
            .fetch(
                limits,
                config.request_timeout,
                |status, headers| {
                    crate::http::check_answer(status, headers, PHASE)?;
                    check_payload(headers)?;
                    log.record(Instant::now(), 0);
                    Ok(())
                },
                |out_of_order| {
                    let mut r = received.lock().unwrap_or_else(|p| p.into_inner());
                    let (now, read) = (Instant::now(), r.read);
                    match r.hold.poll(now, out_of_order, read) {
                        Some(HoldChange::Held { at, read }) => {
                            log.forget_after(at);
                            log.record(at, read);
                        }
                        Some(HoldChange::Released) => log.record(now, read),
                        None => {}
                    }
                    // Known up to where the hold began, else up to this poll: a hole
                    // that opened since is seen at the next one, and nothing after
                    // this poll may be read before then.
                    log.set_known_until(Some(r.hold.known_until().unwrap_or(now)));
                },
                |piece| {
                    let mut r = received.lock().unwrap_or_else(|p| p.into_inner());
                    r.read += piece.len() as u64;
                    if r.hold.known_until().is_none() {
                        log.record(Instant::now(), r.read);
                    }
                },
            )
            .await
    };
    tokio::select! {
        _ = stop.cancelled() => Ok(()),
        r = exchange => r,
    }
}

/// What a stream has read, and whether its count is held.
#[derive(Debug, Default)]
struct Received {
    read: u64,
    hold: ReceiveHold,
}

/// Whether a download stream's count is held behind a hole.
///
/// The phone's TCP hands the application a byte only once every byte before it has
/// arrived: after a loss, the segments that keep crossing wait out of order for the
/// retransmission, a second or more on a cell, and are then read at once. Read during
/// the hole, the count stands still and then jumps; a hole still open when the
/// phase's budget runs out takes every byte behind it out of the window (a native
/// download on `cell-edge` read 3.09 Mbit/s of the 3.36 the link had delivered).
///
/// From the first poll at which the kernel's count of what it received out of order
/// (segments on Linux, bytes on Apple's systems) has grown, the count is known only up
/// to the poll before: what is read after it (up to the hole, then up to a second
/// one) is not placed in time, for it crossed before it could be read. The hold ends
/// once that count has stood still for [`QUIET`] and more has been read since it last
/// grew; the bytes read in between are then spread over the hole, as they crossed.
/// Placed where they were read instead, on a 50 Mbit/s link with a 50 ms queue every
/// sample inside a hole read low and the 250 ms intervals swung between 26 and 70
/// Mbit/s; released at the first poll without growth (polls come with every piece
/// read), a hold ended between the retransmissions of one loss.
#[derive(Debug, Default)]
struct ReceiveHold {
    /// The latest poll: when, the out-of-order count, the bytes read.
    latest: Option<(Instant, u64, u64)>,
    /// While held: the poll before the hole opened.
    held: Option<Instant>,
    /// The latest poll at which the out-of-order count grew, and the bytes read then.
    grew: Option<(Instant, u64)>,
}

/// A held stream's count changed state at a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HoldChange {
    /// A hole opened; the count is known up to `at`, when `read` bytes had been read.
    /// What was read after `at` and before the release is not yet placed in time.
    Held { at: Instant, read: u64 },
    /// Every hole has filled: what was read by now crossed by now.
    Released,
}

/// How long the out-of-order count must stand still before a held count is released:
/// two polls, for polls also come with every piece read, microseconds apart.
const QUIET: Duration = POLL.saturating_mul(2);

impl ReceiveHold {
    /// Takes a poll at `at`: `out_of_order`, how much was received out of order so
    /// far (in the platform's unit; only its growth counts), and `read`, the bytes
    /// read so far.
    fn poll(&mut self, at: Instant, out_of_order: u64, read: u64) -> Option<HoldChange> {
        let latest = self.latest.replace((at, out_of_order, read));
        let grew = latest.is_some_and(|(_, o, _)| out_of_order > o);
        if grew {
            self.grew = Some((at, read));
            if self.held.is_none() {
                let (at, _, read) = latest?;
                self.held = Some(at);
                return Some(HoldChange::Held { at, read });
            }
        } else if let (Some(_), Some((t, r))) = (self.held, self.grew)
            && at.duration_since(t) >= QUIET
            && read > r
        {
            self.held = None;
            return Some(HoldChange::Released);
        }
        None
    }

    /// Until when the count is known while it is held; `None` when it is not.
    fn known_until(&self) -> Option<Instant> {
        self.held
    }
}

/// Refuses answers that are not raw payload: a compressed body (its wire bytes are
/// not the payload), or an HTML page (a captive portal).
fn check_payload(headers: &HeaderMap) -> Result<()> {
    if let Some(enc) = headers.get(CONTENT_ENCODING) {
        let enc = enc.to_str().unwrap_or("?");
        if !enc.eq_ignore_ascii_case("identity") {
            return Err(Error::Protocol {
                phase: PHASE,
                detail: format!(
                    "the body is {enc}-compressed, so its size says nothing about the link"
                ),
            });
        }
    }
    if let Some(ct) = headers.get(CONTENT_TYPE)
        && ct.to_str().unwrap_or("").starts_with("text/html")
    {
        return Err(Error::Protocol {
            phase: PHASE,
            detail: "got an HTML page (a captive portal or login page?) instead of data".to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_count_behind_a_hole_is_known_up_to_the_poll_before_it_opened() {
        let t0 = Instant::now();
        let mut hold = ReceiveHold::default();
        assert_eq!(hold.poll(t0 + ms(50), 0, 100_000), None);
        assert_eq!(hold.poll(t0 + ms(100), 0, 150_000), None);
        assert_eq!(hold.known_until(), None);
        // Segments arrive beyond a lost one: held at the poll before, with what had
        // been read then.
        let held = Some(HoldChange::Held {
            at: t0 + ms(100),
            read: 150_000,
        });
        assert_eq!(hold.poll(t0 + ms(150), 4, 160_000), held);
        assert_eq!(hold.known_until(), Some(t0 + ms(100)));
        // Still arriving out of order, the last bytes before the hole read: still
        // held, and still held while nothing more is read.
        assert_eq!(hold.poll(t0 + ms(200), 9, 170_000), None);
        assert_eq!(hold.poll(t0 + ms(310), 9, 170_000), None);
        assert_eq!(hold.known_until(), Some(t0 + ms(100)));
        // A retransmission fills the first hole, and a piece is read right away; the
        // out-of-order count has stood still for less than QUIET: a second hole may
        // still wait for its own retransmission.
        assert_eq!(hold.poll(t0 + ms(320), 12, 180_000), None);
        assert_eq!(hold.poll(t0 + ms(321), 12, 220_000), None);
        assert_eq!(hold.known_until(), Some(t0 + ms(100)));
        // Quiet for QUIET with more read: released.
        assert_eq!(
            hold.poll(t0 + ms(320) + QUIET, 12, 260_000),
            Some(HoldChange::Released)
        );
        assert_eq!(hold.known_until(), None);
        // A stream whose count never grows out of order is never held.
        let mut quiet = ReceiveHold::default();
        for i in 1..10u64 {
            assert_eq!(quiet.poll(t0 + ms(50 * i), 0, 1_000 * i), None);
        }
        assert_eq!(quiet.known_until(), None);
    }

    #[test]
    fn bytes_read_behind_a_hole_are_spread_over_it() {
        let t0 = Instant::now();
        let log = StreamLog::default();
        log.record(t0 + ms(100), 100_000);
        // Read up to the hole after the poll at 100 ms, then held from there.
        log.record(t0 + ms(120), 110_000);
        log.forget_after(t0 + ms(100));
        // Released at 300 ms with 300 000 read: the link delivered 200 000 bytes in
        // those 200 ms, so 150 ms in, 50 000 of them.
        log.record(t0 + ms(300), 300_000);
        assert_eq!(log.bytes_at(t0 + ms(150)), 150_000);
    }
}
