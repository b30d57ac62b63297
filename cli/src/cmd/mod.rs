//! One module per subcommand.

pub mod demo;
pub mod measure;
pub mod servers;
