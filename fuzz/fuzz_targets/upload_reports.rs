//! The native server's upload reports (NDJSON streamed back during an upload), split
//! into chunks at any point: every report handed on is honest (within the body, never
//! going back), and splitting the answer differently reads the same reports.
#![no_main]

use ispeed_core::protocol::native::{ReportReader, UploadReport};
use libfuzzer_sys::fuzz_target;

fn read(answer: &[u8], body_len: u64, split: usize) -> (Vec<UploadReport>, Result<(), String>) {
    let mut reader = ReportReader::new(body_len);
    let mut got = Vec::new();
    for chunk in answer.chunks(split.max(1)) {
        if let Err(e) = reader.feed(chunk, |r| got.push(r)) {
            return (got, Err(e));
        }
    }
    (got, Ok(()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&[a, b, split], answer)) = data.split_first_chunk::<3>() else {
        return;
    };
    let body_len = u64::from(u16::from_le_bytes([a, b])) * 64;
    let (reports, outcome) = read(answer, body_len, usize::from(split));
    let mut last = 0;
    for r in &reports {
        assert!(r.bytes <= body_len, "{} of {body_len}", r.bytes);
        assert!(r.bytes >= last, "{} after {last}", r.bytes);
        last = r.bytes;
    }
    assert!(
        reports.iter().rev().skip(1).all(|r| !r.done),
        "nothing after done"
    );
    let whole = read(answer, body_len, answer.len());
    assert_eq!(whole.0, reports, "chunking changes nothing");
    assert_eq!(whole.1.is_ok(), outcome.is_ok());
});
