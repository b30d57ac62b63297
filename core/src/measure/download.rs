//! Download: parallel GETs of random payload, counted as it arrives.
//!
//! Each stream asks for its share of the byte budget in one request, so the phase can
//! never move more than the budget; when the stop rule fires the connections are
//! closed, and only what was already in flight is spent beyond the measured window.
//! Streams use connections of their own (`Connection`), whose kernel tells when
//! bytes wait behind a hole (`ReceiveHold`).

use std::sync::{Arc, Mutex};

use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connection::{ExchangeLimits, Target};
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
                    let read = r.read;
                    r.hold.poll(Instant::now(), out_of_order, read);
                    log.set_known_until(r.hold.known_until());
                },
                |piece| {
                    let mut r = received.lock().unwrap_or_else(|p| p.into_inner());
                    r.read += piece.len() as u64;
                    log.record(Instant::now(), r.read);
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
/// download on `cell-edge` read 3.09 Mbit/s of the 3.36 the link had delivered). From
/// the first poll at which the kernel's count of packets received out of order has
/// grown, until a poll at which it has not and the stream has read more since the
/// previous one, the count is known only up to the poll before the hole opened.
#[derive(Debug, Default)]
struct ReceiveHold {
    /// The latest poll: when, the out-of-order count, the bytes read.
    latest: Option<(Instant, u32, u64)>,
    /// While held: the poll before the hole opened.
    held: Option<Instant>,
}

impl ReceiveHold {
    /// Takes a poll at `at`: `out_of_order` packets received out of order so far,
    /// `read` bytes read so far.
    fn poll(&mut self, at: Instant, out_of_order: u32, read: u64) {
        let grew = self.latest.is_some_and(|(_, o, _)| out_of_order > o);
        let read_more = self.latest.is_some_and(|(_, _, r)| read > r);
        match self.held {
            None if grew => self.held = self.latest.map(|(t, _, _)| t),
            Some(_) if !grew && read_more => self.held = None,
            _ => {}
        }
        self.latest = Some((at, out_of_order, read));
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
        hold.poll(t0 + ms(50), 0, 100_000);
        hold.poll(t0 + ms(100), 0, 150_000);
        assert_eq!(hold.known_until(), None);
        // Segments arrive beyond a lost one: held at the poll before.
        hold.poll(t0 + ms(150), 4, 160_000);
        assert_eq!(hold.known_until(), Some(t0 + ms(100)));
        // Still arriving out of order, the last bytes before the hole read: still
        // held, and still held while nothing more is read.
        hold.poll(t0 + ms(200), 9, 170_000);
        hold.poll(t0 + ms(250), 9, 170_000);
        assert_eq!(hold.known_until(), Some(t0 + ms(100)));
        // The retransmission fills it, and what waited is read.
        hold.poll(t0 + ms(300), 9, 260_000);
        assert_eq!(hold.known_until(), None);
        // A stream whose count never grows out of order is never held.
        let mut quiet = ReceiveHold::default();
        for i in 1..10u64 {
            quiet.poll(t0 + ms(50 * i), 0, 1_000 * i);
        }
        assert_eq!(quiet.known_until(), None);
    }
}
