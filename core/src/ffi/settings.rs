//! The user's settings as the apps see them: the session's [`Settings`], kept in the
//! store (see [`crate::session::settings`]).

pub use crate::session::Settings;
