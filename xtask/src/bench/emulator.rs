//! A userspace link emulator between two TUN devices: what `netem` plus Mahimahi's
//! link shell would do, for a kernel that has neither.
//!
//! Each direction is one thread. A packet read from the sending side's TUN device
//! waits out the one-way delay, joins a drop-tail queue, and leaves through the other
//! device at the trace's delivery opportunities, served as Mahimahi's link queue
//! serves them: each opportunity is [`OPPORTUNITY_BYTES`] of service, a packet leaves
//! when the last of its bytes has been served, what it leaves of an opportunity goes
//! to the next packet, and an opportunity with nothing queued is lost. (Counting
//! whole packets per opportunity instead cost a full opportunity whenever an ACK or a
//! short segment sat ahead of a full-sized packet: 5-10 % of an upload's capacity on
//! the cellular traces.) Both directions share one epoch and one shift: trace time is
//! `now - epoch + shift`, and [`Emulator::restart_trace_at`] moves the shift between
//! runs so that every protocol's run number k meets the same stretch of the trace.
//! Every delivered byte is logged in 10 ms buckets of time since the epoch for the
//! benchmark to find where each phase ran, TCP payload delivered a second time in
//! another log ([`SeenSegments`]).
//!
//! The devices are created in the caller's namespace and handed to the namespaces of
//! client and server afterwards (`ip link set DEV netns NS`): an open TUN file keeps
//! working when its device moves, so the emulator itself never changes namespace.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::segments::SeenSegments;
use super::trace::{OPPORTUNITY_BYTES, Trace};

/// Width of one bucket of the delivery log.
pub const LOG_BUCKET: Duration = Duration::from_millis(10);

/// Longest delivery log kept per direction (one bucket per 10 ms: 30 minutes).
const MAX_LOG_BUCKETS: usize = 180_000;

/// Longest time a direction blocks waiting for a packet, so it sees `stop` quickly
/// and never sleeps through its next release.
const MAX_WAIT: Duration = Duration::from_millis(5);

/// One direction's set-up.
#[derive(Debug, Clone)]
pub struct DirectionSpec {
    /// One-way delay added to every packet.
    pub delay: Duration,
    /// Delivery opportunities.
    pub trace: Trace,
    /// Drop-tail queue limit, bytes (the cell's buffer).
    pub queue_bytes: usize,
}

/// Bytes delivered per [`LOG_BUCKET`] since the epoch.
#[derive(Debug, Default)]
pub struct DeliveryLog {
    buckets: Mutex<Vec<u64>>,
}

impl DeliveryLog {
    fn add(&self, since_epoch: Duration, bytes: usize) {
        let i = (since_epoch.as_millis() / LOG_BUCKET.as_millis()) as usize;
        if i >= MAX_LOG_BUCKETS {
            return;
        }
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if b.len() <= i {
            b.resize(i + 1, 0);
        }
        b[i] += bytes as u64;
    }

    /// A copy of the buckets so far.
    pub fn snapshot(&self) -> Vec<u64> {
        self.buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A running emulator; stops its threads when dropped.
pub struct Emulator {
    epoch: Instant,
    /// Trace time minus time since the epoch, ms.
    shift_ms: Arc<AtomicU64>,
    /// The downlink trace's loop, ms: what [`Emulator::restart_trace_at`] positions in.
    period_ms: u64,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Server to client.
    pub down_log: Arc<DeliveryLog>,
    /// Client to server.
    pub up_log: Arc<DeliveryLog>,
    /// TCP payload bytes delivered a second time, server to client.
    pub down_duplicates: Arc<DeliveryLog>,
    /// TCP payload bytes delivered a second time, client to server.
    pub up_duplicates: Arc<DeliveryLog>,
    /// Packets dropped at the queue, down and up.
    drops: Arc<[std::sync::atomic::AtomicU64; 2]>,
}

impl Emulator {
    /// Creates TUN devices `client_if` and `server_if` (in the caller's namespace) and
    /// starts forwarding between them.
    pub fn start(
        client_if: &str,
        server_if: &str,
        down: DirectionSpec,
        up: DirectionSpec,
    ) -> Result<Self, String> {
        let client = Arc::new(open_tun(client_if)?);
        let server = Arc::new(open_tun(server_if)?);
        let epoch = Instant::now();
        let shift_ms = Arc::new(AtomicU64::new(0));
        let period_ms = down.trace.period_ms();
        let stop = Arc::new(AtomicBool::new(false));
        let down_log = Arc::new(DeliveryLog::default());
        let up_log = Arc::new(DeliveryLog::default());
        let down_duplicates = Arc::new(DeliveryLog::default());
        let up_duplicates = Arc::new(DeliveryLog::default());
        let drops = Arc::new([
            std::sync::atomic::AtomicU64::new(0),
            std::sync::atomic::AtomicU64::new(0),
        ]);
        let mut threads = Vec::new();
        for (i, (spec, from, to, logs)) in [
            (
                down,
                server.clone(),
                client.clone(),
                (down_log.clone(), down_duplicates.clone()),
            ),
            (up, client, server, (up_log.clone(), up_duplicates.clone())),
        ]
        .into_iter()
        .enumerate()
        {
            let stop = stop.clone();
            let drops = drops.clone();
            let shift = shift_ms.clone();
            let name = if i == 0 { "emu-down" } else { "emu-up" };
            let handle = std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || {
                    let mut dir = Direction::new(spec, epoch, shift);
                    dir.run(&from, &to, &stop, (&logs.0, &logs.1), &drops[i]);
                })
                .map_err(|e| format!("cannot start the emulator thread: {e}"))?;
            threads.push(handle);
        }
        Ok(Self {
            epoch,
            shift_ms,
            period_ms,
            stop,
            threads,
            down_log,
            up_log,
            down_duplicates,
            up_duplicates,
            drops,
        })
    }

    /// The instant the delivery logs count from.
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Moves the trace so that from now on it plays from `position_ms` into its loop
    /// (the downlink's loop; the uplink's follows the same trace time), and returns
    /// the new shift: trace time = time since the epoch + shift. Called between runs,
    /// while the link is idle; both directions take the new shift within
    /// [`MAX_WAIT`], and this waits that long twice before it returns.
    pub fn restart_trace_at(&self, position_ms: u64) -> u64 {
        let now = self.epoch.elapsed().as_millis() as u64;
        let old = self.shift_ms.load(Ordering::Relaxed);
        let shift = shift_to(now, old, self.period_ms, position_ms);
        self.shift_ms.store(shift, Ordering::Relaxed);
        std::thread::sleep(MAX_WAIT * 2);
        shift
    }

    /// Packets dropped at the queue so far: (down, up).
    pub fn drops(&self) -> (u64, u64) {
        (
            self.drops[0].load(Ordering::Relaxed),
            self.drops[1].load(Ordering::Relaxed),
        )
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn open_tun(name: &str) -> Result<tun::Device, String> {
    let mut config = tun::Configuration::default();
    config.tun_name(name).layer(tun::Layer::L3).mtu(1500);
    // Addresses and link state are set with `ip` once the device is in its namespace.
    config.platform_config(|p| {
        p.ensure_root_privileges(false);
    });
    tun::create(&config).map_err(|e| format!("cannot create TUN device {name}: {e}"))
}

/// The shift that puts trace time at `position_ms` into a loop of `period_ms` at
/// `now_ms` since the epoch, in the loop after the one `old_shift` has reached, so
/// that trace time never runs backwards.
fn shift_to(now_ms: u64, old_shift: u64, period_ms: u64, position_ms: u64) -> u64 {
    let trace_now = now_ms + old_shift;
    let target = (trace_now / period_ms + 1) * period_ms + position_ms % period_ms;
    target - now_ms
}

/// The state of one direction: delay line, queue, and position in the trace.
struct Direction {
    spec: DirectionSpec,
    epoch: Instant,
    /// Packets waiting out the delay, with their release time.
    delay_line: VecDeque<(Instant, Vec<u8>)>,
    queue: VecDeque<Vec<u8>>,
    queued_bytes: usize,
    /// The packet being served and how many of its bytes are still to go.
    in_transit: Option<(usize, Vec<u8>)>,
    /// Index of the next opportunity since trace time 0 (loops × len + position).
    next_opportunity: u64,
    /// Trace time minus time since the epoch, ms, as the emulator sets it.
    shift: Arc<AtomicU64>,
    /// The TCP payload delivered so far.
    seen: SeenSegments,
}

impl Direction {
    fn new(spec: DirectionSpec, epoch: Instant, shift: Arc<AtomicU64>) -> Self {
        Self {
            spec,
            epoch,
            delay_line: VecDeque::new(),
            queue: VecDeque::new(),
            queued_bytes: 0,
            in_transit: None,
            next_opportunity: 0,
            shift,
            seen: SeenSegments::default(),
        }
    }

    /// Trace time of opportunity number `n`.
    fn opportunity_time(&self, n: u64) -> Duration {
        let t = &self.spec.trace;
        let per_loop = t.opportunities(0, t.period_ms());
        let (loops, i) = (n / per_loop, n % per_loop);
        // The i-th stamp of a loop: the smallest ms with more than i opportunities.
        let (mut lo, mut hi) = (0, t.period_ms());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if t.opportunities(0, mid) > i {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Duration::from_millis(loops * t.period_ms() + lo)
    }

    fn run(
        &mut self,
        from: &tun::Device,
        to: &tun::Device,
        stop: &AtomicBool,
        (log, duplicates): (&DeliveryLog, &DeliveryLog),
        drops: &std::sync::atomic::AtomicU64,
    ) {
        let mut buf = vec![0_u8; 65_536];
        let mut next_at = self.opportunity_time(0);
        let mut shift = Duration::ZERO;
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            let wanted = Duration::from_millis(self.shift.load(Ordering::Relaxed));
            if wanted != shift {
                shift = wanted;
                self.jump_to(now.duration_since(self.epoch) + shift);
                next_at = self.opportunity_time(self.next_opportunity);
            }
            // Sleep in the read until the next thing due: a release or an opportunity.
            let mut wait = MAX_WAIT;
            if let Some((release, _)) = self.delay_line.front() {
                wait = wait.min(release.saturating_duration_since(now));
            }
            if !self.queue.is_empty() || self.in_transit.is_some() {
                let due = self.epoch + next_at.saturating_sub(shift);
                wait = wait.min(due.saturating_duration_since(now));
            }
            match from.recv_timeout(&mut buf, wait) {
                Ok(n) => {
                    let arrived = Instant::now();
                    self.delay_line
                        .push_back((arrived + self.spec.delay, buf[..n].to_vec()));
                    // Drain what else is already waiting without blocking.
                    while let Ok(n) = from.recv_timeout(&mut buf, Duration::ZERO) {
                        self.delay_line
                            .push_back((arrived + self.spec.delay, buf[..n].to_vec()));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                // The device went away with its namespace: idle until told to stop.
                Err(_) => std::thread::sleep(MAX_WAIT),
            }
            // Packets join the queue at their release time, in order, after the
            // opportunities due before it are spent: a packet never uses an opportunity
            // that passed before it was queued, however late this thread wakes.
            let now = Instant::now();
            let mut out = Vec::new();
            while let Some(&(release, _)) = self.delay_line.front() {
                if release > now {
                    break;
                }
                self.serve_until(release.duration_since(self.epoch) + shift, &mut out);
                if let Some((_, p)) = self.delay_line.pop_front()
                    && !self.enqueue(p)
                {
                    drops.fetch_add(1, Ordering::Relaxed);
                }
            }
            self.serve_until(now.duration_since(self.epoch) + shift, &mut out);
            for (at, p) in out {
                // A full device queue on the far side is a loss, like a wire's.
                let _ = to.send(&p);
                let at = at.saturating_sub(shift);
                log.add(at, p.len());
                duplicates.add(at, self.seen.delivered(&p) as usize);
            }
            next_at = self.opportunity_time(self.next_opportunity);
        }
    }

    /// Moves to trace time `trace_now`: the next opportunity is the first after it.
    fn jump_to(&mut self, trace_now: Duration) {
        let ms = trace_now.as_millis() as u64;
        self.next_opportunity = self.spec.trace.opportunities(0, ms);
    }

    /// Puts a packet at the queue's tail, or drops it (`false`) if it does not fit.
    fn enqueue(&mut self, p: Vec<u8>) -> bool {
        if self.queued_bytes + p.len() > self.spec.queue_bytes {
            return false;
        }
        self.queued_bytes += p.len();
        self.queue.push_back(p);
        true
    }

    /// Spends every opportunity due at or before `until` (trace time), as Mahimahi's
    /// link queue does: an opportunity is [`OPPORTUNITY_BYTES`] of service, a packet
    /// leaves once all its bytes have been served, and what one packet leaves of an
    /// opportunity goes to the next (so an ACK ahead of a full-sized packet does not
    /// cost the packet a whole opportunity). An opportunity with nothing queued is lost.
    /// Delivered packets are appended to `out` with their opportunity's time.
    fn serve_until(&mut self, until: Duration, out: &mut Vec<(Duration, Vec<u8>)>) {
        loop {
            let at = self.opportunity_time(self.next_opportunity);
            if at > until {
                return;
            }
            self.next_opportunity += 1;
            let mut credit = OPPORTUNITY_BYTES as usize;
            while credit > 0 {
                if self.in_transit.is_none() {
                    let Some(p) = self.queue.pop_front() else {
                        break;
                    };
                    self.queued_bytes -= p.len();
                    self.in_transit = Some((p.len(), p));
                }
                let Some((left, _)) = self.in_transit.as_mut() else {
                    break;
                };
                let served = credit.min(*left);
                *left -= served;
                credit -= served;
                if *left == 0
                    && let Some((_, p)) = self.in_transit.take()
                {
                    out.push((at, p));
                }
            }
        }
    }
}

/// Where a phase's traffic started in a delivery log: the first bucket at or after
/// `from` (time since the epoch) that moved at least `min_bytes`.
pub fn first_busy_bucket(buckets: &[u64], from: Duration, min_bytes: u64) -> Option<Duration> {
    let start = (from.as_millis() / LOG_BUCKET.as_millis()) as usize;
    buckets
        .iter()
        .enumerate()
        .skip(start)
        .find(|&(_, &b)| b >= min_bytes)
        .map(|(i, _)| LOG_BUCKET * i as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opportunity_times_follow_the_trace_across_loops() {
        let spec = DirectionSpec {
            delay: Duration::ZERO,
            trace: Trace::parse("1\n1\n3\n4\n").expect("valid trace"),
            queue_bytes: 10_000,
        };
        let d = Direction::new(spec, Instant::now(), Arc::default());
        let ms: Vec<u128> = (0..6).map(|n| d.opportunity_time(n).as_millis()).collect();
        assert_eq!(ms, vec![1, 1, 3, 4, 5, 5]);
    }

    /// A direction over `trace` with no delay and a roomy queue.
    fn direction(trace: &str) -> Direction {
        let spec = DirectionSpec {
            delay: Duration::ZERO,
            trace: Trace::parse(trace).expect("valid trace"),
            queue_bytes: 100_000,
        };
        Direction::new(spec, Instant::now(), Arc::default())
    }

    fn sizes(out: &[(Duration, Vec<u8>)]) -> Vec<(u128, usize)> {
        out.iter().map(|(t, p)| (t.as_millis(), p.len())).collect()
    }

    #[test]
    fn a_small_packet_leaves_the_rest_of_its_opportunity_to_the_next() {
        // One opportunity per ms. An ACK (52 bytes) ahead of two full packets: the ACK
        // and the first packet's first 1448 bytes share ms 1; the first packet ends at
        // ms 2 with 52 bytes of the second; the second ends at ms 3. Whole-packet
        // opportunities would have spent ms 1 on the ACK alone, as before Mahimahi's rule.
        let mut d = direction("1\n2\n3\n4\n");
        for len in [52, 1500, 1500] {
            assert!(d.enqueue(vec![0; len]));
        }
        let mut out = Vec::new();
        d.serve_until(Duration::from_millis(4), &mut out);
        assert_eq!(sizes(&out), vec![(1, 52), (2, 1500), (3, 1500)]);
        // 4 opportunities, 3052 bytes: 2948 offered bytes went unused at ms 3 and 4.
        assert_eq!(d.next_opportunity, 4);
    }

    #[test]
    fn opportunities_before_a_packet_joined_are_lost() {
        let mut d = direction("1\n2\n3\n4\n");
        let mut out = Vec::new();
        // Nothing queued through ms 2: those opportunities are gone.
        d.serve_until(Duration::from_millis(2), &mut out);
        for _ in 0..3 {
            assert!(d.enqueue(vec![0; 1500]));
        }
        d.serve_until(Duration::from_millis(8), &mut out);
        // ms 3 and 4, then the loop's next two (5 and 6); the queue is empty after.
        assert_eq!(sizes(&out), vec![(3, 1500), (4, 1500), (5, 1500)]);
        assert!(d.queue.is_empty() && d.in_transit.is_none());
    }

    #[test]
    fn a_jump_serves_the_trace_from_the_new_time_on() {
        // A 4 ms loop with opportunities at ms 1, 3 and 4: trace time 9 is ms 1 of the
        // third loop, so the next opportunities are at 11 and 12.
        let mut d = direction("1\n3\n4\n");
        d.jump_to(Duration::from_millis(9));
        assert_eq!(d.opportunity_time(d.next_opportunity).as_millis(), 11);
        for _ in 0..3 {
            assert!(d.enqueue(vec![0; 1500]));
        }
        let mut out = Vec::new();
        d.serve_until(Duration::from_millis(13), &mut out);
        assert_eq!(sizes(&out), vec![(11, 1500), (12, 1500), (13, 1500)]);
    }

    #[test]
    fn a_restart_puts_the_trace_at_its_position_in_the_next_loop() {
        // A 60 s loop, 25 s into the run with no shift: trace time 25 s. Position 20 s
        // is next reached at 80 s of trace time, so the shift is 55 s.
        assert_eq!(shift_to(25_000, 0, 60_000, 20_000), 55_000);
        // Again 10 s later: trace time 90 s; position 40 s of the next loop is 160 s.
        assert_eq!(shift_to(35_000, 55_000, 60_000, 40_000), 125_000);
        // Positions past the loop wrap; trace time never runs backwards.
        assert_eq!(shift_to(1_000, 0, 6_000, 7_000), 6_000);
        for (now, old, position) in [(0, 0, 0), (59_999, 1, 59_999), (5, 123_456, 3)] {
            assert!(now + shift_to(now, old, 60_000, position) > now + old);
        }
    }

    #[test]
    fn the_queue_drops_at_its_tail_when_full() {
        let mut d = direction("1\n");
        d.spec.queue_bytes = 3000;
        assert!(d.enqueue(vec![0; 1500]));
        assert!(d.enqueue(vec![0; 1500]));
        assert!(!d.enqueue(vec![0; 52]));
        assert_eq!(d.queued_bytes, 3000);
    }

    #[test]
    fn the_first_busy_bucket_skips_small_traffic() {
        let buckets = [0, 300, 200, 9000, 12_000];
        assert_eq!(
            first_busy_bucket(&buckets, Duration::ZERO, 6000),
            Some(Duration::from_millis(30))
        );
        assert_eq!(
            first_busy_bucket(&buckets, Duration::from_millis(40), 6000),
            Some(Duration::from_millis(40))
        );
        assert_eq!(first_busy_bucket(&buckets, Duration::ZERO, 20_000), None);
    }
}
