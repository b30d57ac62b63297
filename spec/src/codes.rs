//! Every stable error code an app can receive from the engine, in one list.
//!
//! Both apps show each code as a sentence in the user's language (Android
//! `res/values*/strings.xml` as `error_<code>`, iOS `*.lproj/Localizable.strings` as
//! `error.<code>`). `cargo xtask check-strings` compiles this very file into the xtask
//! (it depends on nothing, so keep it that way) and fails naming every code one of the
//! four string sets lacks. A unit test in `error.rs` fails when a variant of
//! `ispeed_core::Error` returns a code that is missing here (`ispeed-core`'s
//! `listed_codes` tests).

/// One code and what it means, for whoever writes its translations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    /// The stable code (`snake_case`), as `IspeedError::code` carries it.
    pub code: &'static str,
    /// What happened, in plain English: the gist the translated sentence must say,
    /// with what the citizen can do about it.
    pub meaning: &'static str,
}

/// Every code, grouped as the apps' screens meet them. Add, never rename: the apps
/// of earlier releases look these up.
pub const ERROR_CODES: &[ErrorCode] = &[
    // The phone's network.
    ErrorCode {
        code: "wifi_on",
        meaning: "Wi-Fi is on: turn it off to measure mobile data",
    },
    ErrorCode {
        code: "not_cellular",
        meaning: "the phone is not on mobile data: turn mobile data on",
    },
    ErrorCode {
        code: "unreachable",
        meaning: "the measurement server cannot be reached: check mobile data",
    },
    ErrorCode {
        code: "connection_refused",
        meaning: "the measurement server is not answering: try later",
    },
    ErrorCode {
        code: "connection_lost",
        meaning: "the connection broke during the measurement: try where coverage is steadier",
    },
    ErrorCode {
        code: "no_server_reachable",
        meaning: "none of the measurement servers answered: check mobile data, try later",
    },
    // The server.
    ErrorCode {
        code: "timeout",
        meaning: "the server answered too slowly: try later",
    },
    ErrorCode {
        code: "stalled",
        meaning: "the transfer stopped moving: try where coverage is steadier",
    },
    ErrorCode {
        code: "overall_timeout",
        meaning: "the measurement took too long: try later",
    },
    ErrorCode {
        code: "http_status",
        meaning: "the server cannot measure now: try later",
    },
    ErrorCode {
        code: "protocol",
        meaning: "the server's answer was not a measurement (often a Wi-Fi or hotel login page): try later",
    },
    ErrorCode {
        code: "unknown_protocol",
        meaning: "the server does not speak a protocol the app knows: update the app",
    },
    ErrorCode {
        code: "tls",
        meaning: "the server's security certificate is not valid, the connection may be intercepted: do not measure on this network, try later",
    },
    ErrorCode {
        code: "redirected",
        meaning: "the network sent the app elsewhere (often a login page): try later or on another network",
    },
    // The app's set-up (the operator's profile or the user's settings).
    ErrorCode {
        code: "invalid_url",
        meaning: "the server address of the app is not valid: update the app or tell the campaign",
    },
    ErrorCode {
        code: "insecure_url",
        meaning: "the server address is not secure (no https): update the app or tell the campaign",
    },
    ErrorCode {
        code: "invalid_profile",
        meaning: "the campaign settings built into the app cannot be read: update the app or tell the campaign",
    },
    ErrorCode {
        code: "invalid_config",
        meaning: "a setting is not valid: check the settings or reinstall",
    },
    ErrorCode {
        code: "server_list",
        meaning: "the list of measurement servers cannot be read: try later, update the app",
    },
    ErrorCode {
        code: "invalid_area",
        meaning: "the area typed is not valid: give at least a commune, a hamlet or an organisation",
    },
    ErrorCode {
        code: "schedule",
        meaning: "automatic measurement paused because its last result could not be saved (so it does not use data again and again): free storage space, turn it off and on",
    },
    // Sending results.
    ErrorCode {
        code: "collector",
        meaning: "the results could not be sent yet: they are kept and sent later by themselves",
    },
    // The phone's storage.
    ErrorCode {
        code: "storage",
        meaning: "the app cannot save its data: free some storage space",
    },
    ErrorCode {
        code: "corrupt_database",
        meaning: "the app's saved results are damaged: reinstall the app (unsent results are lost)",
    },
    ErrorCode {
        code: "foreign_database",
        meaning: "the app's data file is not its own: reinstall the app",
    },
    ErrorCode {
        code: "database_too_new",
        meaning: "the saved data come from a newer version of the app: update the app",
    },
    // The engine itself.
    ErrorCode {
        code: "busy",
        meaning: "another measurement is running (a tap or the automatic one): wait for it to finish",
    },
    ErrorCode {
        code: "cancelled",
        meaning: "the measurement was cancelled",
    },
    ErrorCode {
        code: "internal",
        meaning: "something went wrong inside the app: try again, report it if it stays",
    },
];

/// Whether `code` is in [`ERROR_CODES`] (the name `ispeed_spec::codes` uses too).
pub fn is_known(code: &str) -> bool {
    ERROR_CODES.iter().any(|c| c.code == code)
}
