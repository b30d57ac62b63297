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
//! a hole until a report grows once none is seen: it is known only up to where the
//! latest report before the hole was placed, and no report is taken while it is held,
//! neither those that repeat the count nor those that grow (the server reading up to
//! a second hole: those bytes crossed before then, not when the server read them;
//! taken, they left the count low at every sample inside the hole, and a 50 Mbit/s
//! upload's 250 ms intervals swung between 11 and 23 Mbit/s). Once released, the
//! bytes read after the hole are spread between the report before it and the first
//! after it, as they crossed rather than in one step; a hole still open at the end of
//! the phase ends the window before it.
//!
//! Every report keeps the server's read time. Placing held reports where their bytes
//! were acknowledged mixed two clocks (acknowledgements' arrival, the server's reads)
//! and made the intervals swing by 5 % where holes come every few hundred ms; placing
//! every report there fails on the reference server, which emulates its uplink by
//! pacing its reads behind a socket buffer its TCP fills at loopback speed
//! (acknowledgements ran seconds ahead, and the native upload read 25 Mbit/s of an
//! emulated 80).

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
    /// Whether the latest poll saw bytes waiting behind a hole.
    hole: bool,
    /// While the count is held (from the first poll that saw a hole until a report
    /// grows once none is seen): where the latest report before the hole was placed.
    held: Option<Instant>,
}

impl ReportPlacement {
    /// Takes what the server's TCP had acknowledged at a poll.
    pub(crate) fn acknowledged(&mut self, acked: Acknowledged) {
        self.hole = acked.beyond_hole > 0;
        if self.hole && self.held.is_none() {
            self.held = Some(self.placed.unwrap_or_else(Instant::now));
        }
    }

    /// Where a report of `bytes` read by `elapsed` after the server began, arriving
    /// at `arrival`, belongs: where the server read them, never before the previous
    /// report; `None` when it is not to be taken: it repeats the count while the
    /// count is held.
    pub(crate) fn place(
        &mut self,
        arrival: Instant,
        elapsed: Duration,
        bytes: u64,
    ) -> Option<Instant> {
        let grew = bytes > self.reported;
        if self.held.is_some() {
            if !grew || self.hole {
                return None;
            }
            self.held = None;
        }
        let at = self.server.place(arrival, elapsed);
        let at = self.placed.map_or(at, |p| at.max(p));
        self.placed = Some(at);
        self.reported = self.reported.max(bytes);
        Some(at)
    }

    /// Until when the count is known while it is held: where the latest report
    /// before the hole was placed, however many reports have grown since (the bytes
    /// beyond a second hole crossed before them). `None` when it is not held (the
    /// log's own rule applies).
    pub(crate) fn known_until(&self) -> Option<Instant> {
        self.held
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

    fn polled(beyond_hole: u64) -> Acknowledged {
        Acknowledged {
            payload: 0,
            beyond_hole,
        }
    }

    #[test]
    fn a_count_behind_a_hole_is_held_at_the_report_before_it_until_the_hole_fills() {
        let t0 = Instant::now();
        let mut p = ReportPlacement::default();
        p.acknowledged(polled(0));
        assert_eq!(p.place(t0 + ms(120), ms(100), 20_000), Some(t0 + ms(120)));
        assert_eq!(p.known_until(), None);
        // A segment is lost: bytes beyond it wait at the server, which reads nothing
        // more. Held where the count last grew; repeated counts are not taken.
        p.acknowledged(polled(8_552));
        assert_eq!(p.known_until(), Some(t0 + ms(120)));
        assert_eq!(p.place(t0 + ms(220), ms(200), 20_000), None);
        // The server reads up to a second hole: not taken either, for the bytes it
        // read crossed before the hole's end, not when it read them; still held at
        // the first hole's start.
        p.acknowledged(polled(11_448));
        assert_eq!(p.place(t0 + ms(320), ms(300), 50_000), None);
        assert_eq!(p.known_until(), Some(t0 + ms(120)));
        // Every hole filled; the first report that grows releases the count, and the
        // bytes since the hole opened lie on the line between the two reports.
        p.acknowledged(polled(0));
        assert_eq!(p.known_until(), Some(t0 + ms(120)));
        assert_eq!(p.place(t0 + ms(420), ms(400), 90_000), Some(t0 + ms(420)));
        assert_eq!(p.known_until(), None);
        // Unheld, a repeated count is taken: it says the stream stood still.
        assert_eq!(p.place(t0 + ms(520), ms(500), 90_000), Some(t0 + ms(520)));
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
