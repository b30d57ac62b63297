//! The guard: watches the network while a measurement runs.
//!
//! The runner checks the policy once before the first request (a refused measurement
//! moves no bytes), then polls the platform every [`POLL_INTERVAL`] alongside the
//! phases. A change that breaks the policy ends the watch with the [`Violation`]; the
//! runner then drops the running phase, which closes its connections at once, so the
//! transfer stops well within a second of the change. Changes that keep the policy
//! (a handover from 4G to 5G, a new cell) are collected for the result document.
//!
//! Polling rather than callbacks: a poll is a few system calls on the desktop and one
//! call into the shell on a phone, and it needs nothing from the shells but the
//! current state.

use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use super::policy::{NetworkPolicy, Violation, is_change};
use super::{NetworkChange, NetworkContext};
use crate::clock::Clock;
use crate::platform::Platform;
use ispeed_spec::measure::Phase;

/// How often the network is polled during a measurement. Four polls a second keep
/// the reaction to a change well under the one second the policy allows, for a
/// negligible cost.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Watches one measurement's network.
pub struct NetworkGuard<'a> {
    policy: NetworkPolicy,
    platform: &'a dyn Platform,
    clock: &'a dyn Clock,
    started: Instant,
    initial: NetworkContext,
    current: NetworkContext,
    changes: Vec<NetworkChange>,
}

impl<'a> NetworkGuard<'a> {
    /// Reads the network and checks it against `policy`; a measurement may start only
    /// when this succeeds.
    pub fn start(
        policy: NetworkPolicy,
        platform: &'a dyn Platform,
        clock: &'a dyn Clock,
    ) -> Result<Self, Violation> {
        let initial = platform.network();
        policy.check(&initial)?;
        Ok(Self {
            policy,
            platform,
            clock,
            started: Instant::now(),
            current: initial.clone(),
            initial,
            changes: Vec::new(),
        })
    }

    /// The network the measurement started on.
    pub fn initial(&self) -> &NetworkContext {
        &self.initial
    }

    /// Reads the network once, records a change, and checks the policy. `phase` is
    /// the phase running now, for the record.
    pub fn poll(&mut self, phase: Option<Phase>) -> Result<(), Violation> {
        let now = self.platform.network();
        if is_change(&self.current, &now) {
            self.changes.push(NetworkChange {
                at: self.clock.now(),
                elapsed_ms: self.started.elapsed().as_millis() as u64,
                phase,
                network: now.clone(),
            });
        }
        self.current = now;
        self.policy.check(&self.current)
    }

    /// Polls every `every` until the policy is broken; `phase` tells which phase runs.
    /// Never returns while the network keeps the policy.
    pub async fn watch(&mut self, every: Duration, phase: impl Fn() -> Option<Phase>) -> Violation {
        let mut ticker = tokio::time::interval_at(Instant::now() + every, every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(v) = self.poll(phase()) {
                return v;
            }
        }
    }

    /// The latest network seen and every change, in order.
    pub fn finish(self) -> (NetworkContext, Vec<NetworkChange>) {
        (self.current, self.changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::network::fake::FakePlatform;
    use crate::network::{RadioTechnology, Transport};

    fn lte() -> NetworkContext {
        NetworkContext {
            technology: RadioTechnology::G4,
            ..NetworkContext::with_transport(Transport::Cellular)
        }
    }

    #[test]
    fn start_refuses_a_violating_network_after_one_look() {
        let platform = FakePlatform::new(NetworkContext::with_transport(Transport::Wifi));
        let r = NetworkGuard::start(NetworkPolicy::CellularOnly, &platform, &SystemClock);
        assert!(matches!(r, Err(Violation::WifiConnected { .. })));
        assert_eq!(platform.polls(), 1);
    }

    #[test]
    fn handovers_are_recorded_and_wifi_ends_the_watch() {
        let platform = FakePlatform::new(lte());
        let mut guard = NetworkGuard::start(NetworkPolicy::CellularOnly, &platform, &SystemClock)
            .expect("cellular is allowed");
        assert_eq!(guard.poll(Some(Phase::Latency)), Ok(()));
        let mut nr = lte();
        nr.technology = RadioTechnology::G5Nsa;
        platform.set(nr.clone());
        assert_eq!(guard.poll(Some(Phase::Download)), Ok(()));
        assert_eq!(guard.poll(Some(Phase::Download)), Ok(()));
        nr.wifi_connected = true;
        platform.set(nr);
        assert!(guard.poll(Some(Phase::Upload)).is_err());
        let (end, changes) = guard.finish();
        assert!(end.wifi_connected);
        let techs: Vec<_> = changes
            .iter()
            .map(|c| (c.phase, c.network.wifi_connected))
            .collect();
        assert_eq!(
            techs,
            [(Some(Phase::Download), false), (Some(Phase::Upload), true)]
        );
        assert_eq!(changes[0].network.technology, RadioTechnology::G5Nsa);
    }
}
