//! The error the apps see: a few cases a screen can react to, each carrying the
//! core's stable code (for translated text) and an English sentence saying what to do.
//!
//! The core's detailed [`crate::Error`] is converted here and nowhere else, so the
//! mapping from engine failure to user-facing case is one table.

use crate::error::Error;

/// Why an engine call failed. `code` is stable across releases (the apps translate
/// it); `reason` is an English sentence for logs and as a fallback text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum IspeedError {
    /// The request or a setting is not valid (`invalid_url`, `invalid_config`):
    /// fix the input.
    #[error("{reason}")]
    InvalidInput {
        /// Stable code.
        code: String,
        /// What is wrong.
        reason: String,
    },
    /// Wi-Fi is on (`wifi_on`): a mobile broadband measurement needs it off.
    #[error("{reason}")]
    WifiOn {
        /// Stable code.
        code: String,
        /// What to do.
        reason: String,
    },
    /// The phone could not reach the server or lost the connection (`unreachable`,
    /// `connection_refused`, `connection_lost`): check coverage and try again.
    #[error("{reason}")]
    Network {
        /// Stable code.
        code: String,
        /// What the network reported.
        reason: String,
    },
    /// The server misbehaved or was too slow (`timeout`, `stalled`, `http_status`,
    /// `protocol`, `overall_timeout`): try later or another server.
    #[error("{reason}")]
    Server {
        /// Stable code.
        code: String,
        /// What the server did.
        reason: String,
    },
    /// Another measurement of this phone is running (`busy`), started by the screen
    /// or by the background worker: wait for it rather than measure half the cell.
    #[error("{reason}")]
    Busy {
        /// Stable code.
        code: String,
        /// What to do.
        reason: String,
    },
    /// The measurement was cancelled (`cancelled`): nothing to show.
    #[error("{reason}")]
    Cancelled {
        /// Stable code.
        code: String,
        /// Always the same sentence.
        reason: String,
    },
    /// The app's data directory could not be read or written (`storage`).
    #[error("{reason}")]
    Storage {
        /// Stable code.
        code: String,
        /// Which file and what the OS said.
        reason: String,
    },
    /// A bug or an exhausted device (`internal`): report it.
    #[error("{reason}")]
    Internal {
        /// Stable code.
        code: String,
        /// What went wrong inside.
        reason: String,
    },
}

impl IspeedError {
    /// The stable code, whatever the case.
    pub fn code(&self) -> &str {
        match self {
            IspeedError::InvalidInput { code, .. }
            | IspeedError::WifiOn { code, .. }
            | IspeedError::Network { code, .. }
            | IspeedError::Server { code, .. }
            | IspeedError::Cancelled { code, .. }
            | IspeedError::Busy { code, .. }
            | IspeedError::Storage { code, .. }
            | IspeedError::Internal { code, .. } => code,
        }
    }

    /// The error a caught panic (in the engine, or a foreign callback that threw)
    /// becomes.
    pub(crate) fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Self::internal(format!("the engine stopped on an internal error: {what}"))
    }

    /// A failure that is nobody's fault but ours.
    pub(crate) fn internal(reason: impl Into<String>) -> Self {
        IspeedError::Internal {
            code: "internal".to_owned(),
            reason: reason.into(),
        }
    }
}

impl From<Error> for IspeedError {
    fn from(e: Error) -> Self {
        let code = e.code().to_owned();
        let reason = e.to_string();
        match e {
            Error::InvalidUrl { .. }
            | Error::Config(_)
            | Error::InsecureUrl { .. }
            | Error::InvalidArea { .. }
            | Error::Profile { .. }
            | Error::ServerList(_) => IspeedError::InvalidInput { code, reason },
            Error::Busy => IspeedError::Busy { code, reason },
            Error::WifiOn { .. } => IspeedError::WifiOn { code, reason },
            Error::NotCellular { .. }
            | Error::Unreachable { .. }
            | Error::ConnectionRefused { .. }
            | Error::ConnectionLost { .. }
            | Error::NoServerReachable { .. } => IspeedError::Network { code, reason },
            Error::Timeout { .. }
            | Error::Stalled { .. }
            | Error::HttpStatus { .. }
            | Error::Protocol { .. }
            | Error::Tls { .. }
            | Error::Redirected { .. }
            | Error::UnknownProtocol { .. }
            | Error::Collector { .. }
            | Error::OverallTimeout { .. } => IspeedError::Server { code, reason },
            Error::ForeignDatabase { .. }
            | Error::CorruptDatabase { .. }
            | Error::DatabaseTooNew { .. }
            | Error::Storage { .. } => IspeedError::Storage { code, reason },
            Error::Cancelled => IspeedError::Cancelled { code, reason },
            // `Error` is non-exhaustive: a variant added by another module lands here
            // with its own code and message until it is given a case of its own.
            #[allow(unreachable_patterns)]
            _ => IspeedError::Internal { code, reason },
        }
    }
}

/// Runs `f` on the caller's thread, turning a panic (a foreign callback that threw
/// inside it) into [`IspeedError::Internal`]: it must not unwind into the app.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, IspeedError>) -> Result<T, IspeedError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Err(IspeedError::from_panic(&*payload)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::measure::Phase;

    #[test]
    fn every_core_error_keeps_its_code_and_message() {
        let cases = [
            (
                Error::Config("streams must be 1-16".into()),
                "invalid_config",
            ),
            (
                Error::ConnectionRefused {
                    host: "127.0.0.1:1".into(),
                },
                "connection_refused",
            ),
            (
                Error::Stalled {
                    phase: Phase::Upload,
                    after: Duration::from_secs(5),
                },
                "stalled",
            ),
            (Error::Cancelled, "cancelled"),
        ];
        for (core, code) in cases {
            let message = core.to_string();
            let ffi = IspeedError::from(core);
            assert_eq!(ffi.code(), code);
            assert_eq!(ffi.to_string(), message);
        }
    }

    #[test]
    fn errors_land_in_the_case_a_screen_reacts_to() {
        let refused = IspeedError::from(Error::ConnectionRefused { host: "h".into() });
        assert!(matches!(refused, IspeedError::Network { .. }));
        let timeout = IspeedError::from(Error::OverallTimeout {
            after: Duration::from_secs(45),
        });
        assert!(matches!(timeout, IspeedError::Server { .. }));
        let bad = IspeedError::from(Error::Config("x".into()));
        assert!(matches!(bad, IspeedError::InvalidInput { .. }));
    }

    #[test]
    fn a_panic_inside_a_guarded_call_is_an_internal_error() {
        let e = guarded::<()>(|| panic!("radio service unavailable")).expect_err("caught");
        assert_eq!(e.code(), "internal");
        assert!(e.to_string().contains("radio service unavailable"), "{e}");
        assert_eq!(guarded(|| Ok(7)), Ok(7));
    }
}
