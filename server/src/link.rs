//! Link emulation: one pacer per direction, shared by every connection, so parallel
//! streams split the emulated link as they split a real cell; plus an added round trip.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// The emulated mobile link.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct LinkProfile {
    /// Server-to-client rate, Mbit/s; `None` for unshaped.
    pub down_mbps: Option<f64>,
    /// Client-to-server rate, Mbit/s; `None` for unshaped.
    pub up_mbps: Option<f64>,
    /// Round-trip time added to every exchange, ms.
    pub rtt_ms: u64,
}

impl LinkProfile {
    /// A link like a typical 4G cell: 40 Mbit/s down, 15 up, 40 ms.
    pub fn typical_4g() -> Self {
        Self {
            down_mbps: Some(40.0),
            up_mbps: Some(15.0),
            rtt_ms: 40,
        }
    }

    /// The added round trip.
    pub fn rtt(&self) -> Duration {
        Duration::from_millis(self.rtt_ms)
    }

    /// Waits out the emulated round trip of an exchange that reached the server at
    /// `since`; see [`hold_until`].
    pub async fn hold_round_trip(&self, since: Instant) {
        if self.rtt_ms > 0 {
            hold_until(since + self.rtt()).await;
        }
    }
}

/// How long before a deadline the runtime's timer hands over to spinning. Tokio's
/// timer wheel ticks in whole milliseconds and rounds a deadline up to the next tick,
/// so a 40 ms sleep ends 40-42 ms later; a thread's sleep is no cure either, since the
/// kernel overshoots by 120-260 µs on the bench's virtual machine and waking the
/// task from another thread costs as much again.
const FINE_WAIT: Duration = Duration::from_millis(2);

/// Waits until `deadline` to within a few tens of microseconds, not the runtime
/// timer's millisecond: the bulk on the runtime's timer, the last [`FINE_WAIT`] or
/// less yielding in a loop on the task's own worker (other tasks run between the
/// turns). Returns at once, without touching any timer, when the deadline has passed:
/// an exchange with no emulated delay costs nothing.
pub async fn hold_until(deadline: Instant) {
    let coarse = deadline.checked_sub(FINE_WAIT).unwrap_or(deadline);
    if Instant::now() < coarse {
        tokio::time::sleep_until(coarse).await;
    }
    // The spin runs on the wall clock so that a paused test clock cannot hold it.
    let left = deadline.saturating_duration_since(Instant::now());
    let until = std::time::Instant::now() + left;
    while std::time::Instant::now() < until {
        tokio::task::yield_now().await;
    }
}

/// How much a pacer may send at once after being idle: a few milliseconds of the
/// link, like the queue of a real bottleneck, never more than a few chunks.
const BURST: Duration = Duration::from_millis(5);

/// A token bucket as a schedule: each caller reserves the next free slot of the link
/// for its bytes and waits until that slot has passed. Reservations are served in
/// order, which shares the link fairly among connections.
#[derive(Debug)]
pub struct Pacer {
    bytes_per_sec: f64,
    next_free: Mutex<Instant>,
}

impl Pacer {
    /// A pacer at `mbps` Mbit/s; `None` for a non-positive or missing rate.
    pub fn new(mbps: Option<f64>) -> Option<Self> {
        let mbps = mbps.filter(|r| r.is_finite() && *r > 0.0)?;
        Some(Self {
            bytes_per_sec: mbps * 1_000_000.0 / 8.0,
            next_free: Mutex::new(Instant::now()),
        })
    }

    /// Waits until `bytes` may cross the link.
    pub async fn pass(&self, bytes: usize) {
        let due = {
            let mut next = self.next_free.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let floor = now.checked_sub(BURST).unwrap_or(now);
            if *next < floor {
                *next = floor;
            }
            *next += Duration::from_secs_f64(bytes as f64 / self.bytes_per_sec);
            *next
        };
        tokio::time::sleep_until(due).await;
    }

    /// Bytes worth about 2 ms of this link, between 1 KiB and 64 KiB: the chunk size
    /// that keeps pacing smooth without a timer per packet.
    pub fn chunk_size(&self) -> usize {
        ((self.bytes_per_sec * 0.002) as usize).clamp(1024, 64 * 1024)
    }
}

/// Both directions and the delay.
#[derive(Debug)]
pub struct Link {
    /// The profile it was built from.
    pub profile: LinkProfile,
    /// Server-to-client pacer.
    pub down: Option<Pacer>,
    /// Client-to-server pacer.
    pub up: Option<Pacer>,
}

impl Link {
    /// Builds the pacers of `profile`.
    pub fn new(profile: LinkProfile) -> Self {
        Self {
            profile,
            down: Pacer::new(profile.down_mbps),
            up: Pacer::new(profile.up_mbps),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pacer_holds_its_rate_across_callers() {
        let pacer = std::sync::Arc::new(Pacer::new(Some(8.0)).unwrap_or_else(|| unreachable!()));
        let start = Instant::now();
        // 4 callers × 25 × 10 kB = 1 MB at 1 MB/s
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let p = pacer.clone();
                tokio::spawn(async move {
                    for _ in 0..25 {
                        p.pass(10_000).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            let _ = t.await;
        }
        let took = start.elapsed().as_secs_f64();
        assert!((took - 1.0).abs() < 0.01, "{took}");
    }

    #[test]
    fn unshaped_directions_have_no_pacer() {
        assert!(Pacer::new(None).is_none());
        assert!(Pacer::new(Some(0.0)).is_none());
        assert!(Pacer::new(Some(f64::NAN)).is_none());
        let link = Link::new(LinkProfile::typical_4g());
        assert!(link.down.is_some() && link.up.is_some());
    }
}
