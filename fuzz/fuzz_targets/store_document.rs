//! The store's write and read paths with any document that decodes: a saved sample
//! reads back (document, history row, export) instead of being reported as damage or
//! lost. The database lives in a temporary directory for the whole run.
#![no_main]

use std::sync::OnceLock;

use ispeed_core::MeasurementResult;
use ispeed_core::store::Store;
use libfuzzer_sys::fuzz_target;

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ispeed-fuzz-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Store::open(dir.join("fuzz.db")).expect("store opens")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<MeasurementResult>(data) else {
        return;
    };
    let store = store();
    let inserted = store
        .save_result(&doc)
        .expect("a decoded document can be stored");
    let back = store
        .result(doc.id)
        .expect("a stored document reads back")
        .expect("a stored document is found");
    assert_eq!(back.id, doc.id);
    if inserted {
        assert_eq!(back.server, doc.server);
        assert_eq!(back.started_at, doc.started_at);
    }
    store.recent(5).expect("the history reads");
    store.pending_ids().expect("the queue reads");
});
