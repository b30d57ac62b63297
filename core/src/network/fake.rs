//! A platform whose network a test changes at will, in the middle of a measurement.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{InterfaceCounters, NetworkContext};
use crate::platform::{DeviceInfo, Platform};

/// A [`Platform`] reporting whatever network the test last [`set`](FakePlatform::set).
#[derive(Debug)]
pub struct FakePlatform {
    network: Mutex<NetworkContext>,
    counters: Mutex<Option<InterfaceCounters>>,
    polls: AtomicUsize,
}

impl FakePlatform {
    /// A platform on `network`, with no interface counters.
    pub fn new(network: NetworkContext) -> Self {
        Self {
            network: Mutex::new(network),
            counters: Mutex::new(None),
            polls: AtomicUsize::new(0),
        }
    }

    /// Switches the network: the next poll sees `network`.
    pub fn set(&self, network: NetworkContext) {
        *self.network.lock().unwrap_or_else(|p| p.into_inner()) = network;
    }

    /// Sets the counters every interface reports from now on.
    pub fn set_counters(&self, counters: Option<InterfaceCounters>) {
        *self.counters.lock().unwrap_or_else(|p| p.into_inner()) = counters;
    }

    /// How many times the network was read.
    pub fn polls(&self) -> usize {
        self.polls.load(Ordering::Relaxed)
    }
}

impl Platform for FakePlatform {
    fn network(&self) -> NetworkContext {
        self.polls.fetch_add(1, Ordering::Relaxed);
        self.network
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn interface_counters(&self, _interface: &str) -> Option<InterfaceCounters> {
        *self.counters.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn device(&self) -> DeviceInfo {
        DeviceInfo::this_machine(env!("CARGO_PKG_VERSION"))
    }
}
