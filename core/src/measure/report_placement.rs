//! Where on the client's clock the native server's upload reports belong.
//!
//! The server reports, every 100 ms, how many bytes of the body it has *read*: the
//! count the measurement may claim, for the server's receipt tallies the same reads.
//! A report is placed when the server read its bytes ([`ServerClock`]). But a byte is
//! read only once every byte before it has arrived: on a lossy link, a second of
//! bytes that crossed the link can wait behind one hole for its retransmission, and
//! are then read at once. Read stuck during the hole, the count stands still and then
//! jumps; and a hole still open when the phase's budget runs out takes every byte
//! behind it out of the window (a native upload on `cell-edge` read 1.48 Mbit/s of
//! the 1.80 the link had delivered).
//!
//! Where the platform tells that bytes wait behind a hole (acknowledged selectively,
//! [`Acknowledged::beyond_hole`]), the count is *held* from the first poll that sees
//! a hole until a report grows once none is seen. While held, reports that merely
//! repeat the count are not taken, a report that grows is placed at the first poll
//! that saw its bytes acknowledged (when they crossed the link, not when they were
//! read), and the count is known only up to the first poll that saw bytes
//! acknowledged beyond the latest report: those crossed then and are still to be
//! read. A hole still open at the end of the phase thus ends the window before it,
//! and the bytes read after a hole count where they crossed.
//!
//! Outside holes, reports keep the server's read times: the reference server
//! emulates its uplink by pacing its reads, behind a socket buffer its TCP fills at
//! loopback speed, and there acknowledged bytes run seconds ahead of the link it
//! emulates (placed by them, the native upload read 25 Mbit/s of an emulated 80).

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::connection::Acknowledged;

/// Places the reports of one upload body.
#[derive(Debug, Default)]
pub(crate) struct ReportPlacement {
    server: ServerClock,
    /// The latest count taken.
    reported: u64,
    /// Where it was placed.
    placed: Option<Instant>,
    /// Each acknowledged payload count that grew, with the first poll that saw it,
    /// oldest first, from the last at or below `reported` on.
    acks: VecDeque<(Instant, u64)>,
    /// The latest poll.
    polled: Option<Instant>,
    /// Whether the latest poll saw bytes waiting behind a hole.
    hole: bool,
    /// Whether the count is held: from the first poll that saw a hole until a report
    /// grows once no hole is seen.
    held: bool,
}

impl ReportPlacement {
    /// Takes what the server's TCP had acknowledged at the poll at `at`.
    pub(crate) fn acknowledged(&mut self, at: Instant, acked: Acknowledged) {
        self.polled = Some(at);
        if self.acks.back().is_none_or(|&(_, a)| acked.payload > a) {
            self.acks.push_back((at, acked.payload));
        }
        self.hole = acked.beyond_hole > 0;
        self.held |= self.hole;
    }

    /// Where a report of `bytes` read by `elapsed` after the server began, arriving
    /// at `arrival`, belongs (never before the previous one); `None` when it is not
    /// to be taken: it repeats the count while the count is held.
    ///
    /// Unheld, a report goes where the server read it. Held, it goes where its bytes
    /// had been acknowledged: they crossed then, and were read late.
    pub(crate) fn place(
        &mut self,
        arrival: Instant,
        elapsed: Duration,
        bytes: u64,
    ) -> Option<Instant> {
        let read_at = self.server.place(arrival, elapsed);
        let grew = bytes > self.reported;
        if self.held && !grew {
            return None;
        }
        let at = if self.held {
            // None yet when the count of acknowledged bytes falls short of the
            // server's (a TLS record's overhead, rounded): the report itself says
            // they had crossed by its arrival.
            self.acks
                .iter()
                .find(|&&(_, a)| a >= bytes)
                .map_or(arrival, |&(t, _)| t)
        } else {
            read_at
        };
        if grew && !self.hole {
            self.held = false;
        }
        let at = self.placed.map_or(at, |p| at.max(p));
        self.placed = Some(at);
        self.reported = self.reported.max(bytes);
        while self.acks.len() > 1 && self.acks[1].1 <= self.reported {
            self.acks.pop_front();
        }
        Some(at)
    }

    /// Until when the count is known, while it is held: the first poll that saw
    /// bytes acknowledged beyond the latest report (they crossed then, and are still
    /// to be read), or the latest poll if none. `None` when the count is not held
    /// (the log's own rule applies).
    pub(crate) fn known_until(&self) -> Option<Instant> {
        if !self.held {
            return None;
        }
        self.acks
            .iter()
            .find(|&&(_, a)| a > self.reported)
            .map(|&(t, _)| t)
            .or(self.polled)
    }
}

/// Places the server's read times on the client's clock.
///
/// A report made `elapsed` after the server began reading a body arrives at least a
/// one-way delay later, and later still when it waits behind other traffic on the way
/// back (a download's queue still draining, a cell's scheduler). Stamped on arrival, a
/// late report would leave the count stuck and then jump; the earliest
/// `arrival − elapsed` seen so far is the best estimate of when the server began, and
/// every report is placed at that origin plus its own `elapsed`: when the server read
/// the bytes, never after the report arrived.
#[derive(Debug, Default)]
struct ServerClock {
    origin: Option<Instant>,
}

impl ServerClock {
    /// Where a report of `elapsed` server time that arrived at `arrival` belongs.
    fn place(&mut self, arrival: Instant, elapsed: Duration) -> Instant {
        let candidate = arrival.checked_sub(elapsed).unwrap_or(arrival);
        let origin = self.origin.map_or(candidate, |o| o.min(candidate));
        self.origin = Some(origin);
        (origin + elapsed).min(arrival)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn late_reports_are_placed_when_the_server_read_their_bytes() {
        let t0 = Instant::now();
        let mut clock = ServerClock::default();
        // Reports every 100 ms of server time, 20 ms on the way back...
        assert_eq!(clock.place(t0 + ms(120), ms(100)), t0 + ms(120));
        assert_eq!(clock.place(t0 + ms(220), ms(200)), t0 + ms(220));
        // ... then two held 600 ms behind a draining queue, arriving together: each
        // goes where its server time puts it, not at the arrival.
        assert_eq!(clock.place(t0 + ms(900), ms(300)), t0 + ms(320));
        assert_eq!(clock.place(t0 + ms(900), ms(400)), t0 + ms(420));
        // A report faster than any before moves the origin earlier; none is placed
        // after its own arrival.
        assert_eq!(clock.place(t0 + ms(505), ms(500)), t0 + ms(505));
        assert_eq!(clock.place(t0 + ms(700), ms(600)), t0 + ms(605));
    }

    fn polled(payload: u64, beyond_hole: u64) -> Acknowledged {
        Acknowledged {
            payload,
            beyond_hole,
        }
    }

    #[test]
    fn reports_held_behind_a_hole_are_placed_when_their_bytes_crossed() {
        let t0 = Instant::now();
        let mut p = ReportPlacement::default();
        p.acknowledged(t0 + ms(100), polled(20_000, 0));
        assert_eq!(p.place(t0 + ms(120), ms(100), 20_000), Some(t0 + ms(120)));
        assert_eq!(p.known_until(), None);
        // A segment is lost: bytes beyond it cross and wait at the server, which
        // reads nothing more. The count is known only until they began to cross.
        p.acknowledged(t0 + ms(150), polled(30_000, 8_552));
        p.acknowledged(t0 + ms(200), polled(40_000, 18_552));
        assert_eq!(p.known_until(), Some(t0 + ms(150)));
        assert_eq!(p.place(t0 + ms(220), ms(200), 20_000), None);
        p.acknowledged(t0 + ms(250), polled(50_000, 28_552));
        p.acknowledged(t0 + ms(300), polled(60_000, 38_552));
        // The retransmission lands and the server reads up to a second hole: placed
        // where those bytes had crossed, still held.
        p.acknowledged(t0 + ms(350), polled(61_448, 11_448));
        assert_eq!(p.place(t0 + ms(370), ms(350), 50_000), Some(t0 + ms(250)));
        assert_eq!(p.known_until(), Some(t0 + ms(300)));
        // The second hole fills: the rest is read, placed where it crossed, and the
        // count is released.
        p.acknowledged(t0 + ms(400), polled(70_000, 0));
        assert_eq!(p.place(t0 + ms(420), ms(400), 61_448), Some(t0 + ms(350)));
        assert_eq!(p.known_until(), None);
        // Unheld, reports go where the server read them, a repeated count too: it
        // says the stream stood still.
        assert_eq!(p.place(t0 + ms(520), ms(500), 70_000), Some(t0 + ms(520)));
        assert_eq!(p.place(t0 + ms(620), ms(600), 70_000), Some(t0 + ms(620)));
    }

    #[test]
    fn a_held_report_ahead_of_the_acknowledgements_is_placed_at_its_arrival() {
        let t0 = Instant::now();
        let mut p = ReportPlacement::default();
        p.acknowledged(t0 + ms(50), polled(9_990, 1_448));
        assert_eq!(p.place(t0 + ms(80), ms(60), 10_000), Some(t0 + ms(80)));
        // Every acknowledged byte reported: known until the latest poll.
        p.acknowledged(t0 + ms(100), polled(9_990, 1_448));
        assert_eq!(p.known_until(), Some(t0 + ms(100)));
        // Never placed before an earlier report.
        p.acknowledged(t0 + ms(150), polled(20_000, 0));
        assert_eq!(p.place(t0 + ms(160), ms(140), 12_000), Some(t0 + ms(150)));
        assert_eq!(p.place(t0 + ms(170), ms(50), 15_000), Some(t0 + ms(150)));
    }

    #[test]
    fn without_acknowledgements_reports_keep_the_servers_clock() {
        let t0 = Instant::now();
        let mut p = ReportPlacement::default();
        assert_eq!(p.place(t0 + ms(120), ms(100), 1_000), Some(t0 + ms(120)));
        assert_eq!(p.place(t0 + ms(900), ms(300), 1_000), Some(t0 + ms(320)));
        assert_eq!(p.known_until(), None);
    }
}
