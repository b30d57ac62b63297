//! The stable error codes of the engine (`ispeed_core::Error::code`), which both apps
//! translate (English and Vietnamese). A code is never renamed or reused; new ones are
//! added at the end. A test in `ispeed-core` checks that every code the engine can
//! return is listed here.

/// Every error code the engine returns, in the order they were introduced.
pub const ERROR_CODES: &[&str] = &[
    "invalid_url",
    "invalid_config",
    "insecure_url",
    "tls",
    "redirected",
    "unreachable",
    "connection_refused",
    "timeout",
    "stalled",
    "http_status",
    "protocol",
    "connection_lost",
    "cancelled",
    "overall_timeout",
    "wifi_on",
    "not_cellular",
    "unknown_protocol",
    "server_list",
    "no_server_reachable",
    "schedule",
    "foreign_database",
    "corrupt_database",
    "database_too_new",
    "storage",
    "collector",
    "invalid_area",
];

/// Whether `code` is one of [`ERROR_CODES`].
pub fn is_known(code: &str) -> bool {
    ERROR_CODES.contains(&code)
}
