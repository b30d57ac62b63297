//! A process that writes samples to a store and prints each id once its store call
//! has returned: the fault tests kill it at random moments and check that every
//! printed id survived.
//!
//! `store_writer DB [COUNT]`: writes COUNT samples (forever without it), one id per
//! line on stdout, flushed. Exits 1 with the error on stderr if a store call fails.

use std::io::Write;
use std::process::ExitCode;

use chrono::Utc;
use ispeed_core::result::ServerRef;
use ispeed_core::store::Store;
use ispeed_core::{MeasurementResult, NetworkContext, Transport};

fn sample(n: u64) -> MeasurementResult {
    let now = Utc::now();
    MeasurementResult::new(
        now,
        ServerRef {
            url: format!("http://127.0.0.1:{}", 1000 + n % 1000),
            protocol: Default::default(),
        },
        NetworkContext::with_transport(Transport::Cellular),
        ispeed_core::platform::DeviceInfo::this_machine("store-writer"),
    )
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: store_writer DB [COUNT]");
        return ExitCode::FAILURE;
    };
    let count: Option<u64> = args.next().and_then(|c| c.parse().ok());
    let store = match Store::open(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("store_writer: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let mut n = 0;
    while count.is_none_or(|c| n < c) {
        let s = sample(n);
        if let Err(e) = store.save_result(&s) {
            eprintln!("store_writer: {e}");
            return ExitCode::FAILURE;
        }
        // Printed only after the commit returned: a printed id must be durable.
        if writeln!(out, "{}", s.id)
            .and_then(|()| out.flush())
            .is_err()
        {
            return ExitCode::FAILURE;
        }
        n += 1;
    }
    ExitCode::SUCCESS
}
