//! One module per subcommand.

pub mod auto;
pub mod campaign;
pub mod demo;
pub mod export;
pub mod history;
pub mod keygen;
pub mod measure;
pub mod schedule;
pub mod servers;
pub mod stats;
pub mod upload;
