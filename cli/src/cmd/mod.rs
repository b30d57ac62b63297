//! One module per subcommand.

pub mod demo;
pub mod export;
pub mod history;
pub mod measure;
pub mod upload;
