//! One module per subcommand.

pub mod auto;
pub mod demo;
pub mod measure;
pub mod schedule;
pub mod servers;
