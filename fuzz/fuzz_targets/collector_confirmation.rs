//! The collector's answer to an upload: only a confirmation of the very document sent
//! is taken; anything else (a portal page, another id, a huge body) is a reason.
#![no_main]

use ispeed_core::report::Confirmation;
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;

fuzz_target!(|data: &[u8]| {
    let Some((id, body)) = data.split_first_chunk::<16>() else {
        return;
    };
    let expected = Uuid::from_bytes(*id);
    if let Ok(c) = Confirmation::parse(body, expected) {
        assert_eq!(c.id, expected);
    }
});
