//! The two interfaces the shells implement, and their adapters to the core's traits.
//!
//! Callbacks run on the engine's threads, inside the measuring task: a foreign
//! exception there becomes a panic that the task catches and reports as
//! [`super::IspeedError::Internal`]; it never unwinds into the app.

use std::sync::Arc;

use crate::measure::{ProgressEvent, ProgressListener};
use crate::network::NetworkContext;
use crate::platform::{Battery, DeviceInfo};

/// What the operating system knows: implemented by the Android shell on
/// ConnectivityManager, TelephonyManager and BatteryManager, by the iOS shell on
/// NWPathMonitor and CoreTelephony.
///
/// Called from the engine's threads, polled during a measurement: answer from cached
/// state, quickly, and never block on user interaction.
#[uniffi::export(with_foreign)]
pub trait Platform: Send + Sync {
    /// The network the measurement traffic uses now.
    fn network(&self) -> NetworkContext;
    /// Battery state, or `None` where the OS does not tell.
    fn battery(&self) -> Option<Battery>;
    /// The device, described without identifying it.
    fn device(&self) -> DeviceInfo;
    /// The IANA time zone the user lives in (`Asia/Ho_Chi_Minh`): days, and the daily
    /// quota of three measurements, are counted in it.
    fn time_zone(&self) -> String;
}

/// Hears a measurement's progress: phase changes, round trips, throughput intervals.
///
/// Called on the engine's threads several times a second: hand the event to the UI
/// thread and return.
#[uniffi::export(with_foreign)]
pub trait MeasureListener: Send + Sync {
    /// One progress event.
    fn on_progress(&self, event: ProgressEvent);
}

/// The foreign platform seen through the core's [`crate::Platform`] trait.
pub(crate) struct ForeignPlatform(pub(crate) Arc<dyn Platform>);

impl crate::platform::Platform for ForeignPlatform {
    fn network(&self) -> NetworkContext {
        self.0.network()
    }

    fn battery(&self) -> Option<Battery> {
        self.0.battery()
    }

    fn device(&self) -> DeviceInfo {
        self.0.device()
    }

    fn time_zone(&self) -> Option<String> {
        Some(self.0.time_zone())
    }
}

/// The foreign listener seen through the core's [`ProgressListener`] trait.
pub(crate) struct ForeignListener(pub(crate) Arc<dyn MeasureListener>);

impl ProgressListener for ForeignListener {
    fn on_event(&self, event: &ProgressEvent) {
        self.0.on_progress(event.clone());
    }
}
