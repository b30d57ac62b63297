//! Server lists (ours and LibreSpeed's), as read from a file or a download:
//! `parse_list` must answer a list or a typed error, never panic, and every candidate
//! it accepts must have a base URL the protocols can use.
#![no_main]

use ispeed_core::Error;
use ispeed_core::protocol::{self, parse_base_url};
use ispeed_core::servers::parse_list;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_list(text) {
        Ok(list) => {
            for c in &list.candidates {
                let base = parse_base_url(&c.url).expect("an accepted URL parses again");
                assert_eq!(base.as_str(), c.url, "accepted URLs are normalised");
                protocol::for_server(c.protocol, &c.url).expect("an accepted server is usable");
            }
        }
        Err(Error::ServerList(_)) => {}
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
});
