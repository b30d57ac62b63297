//! Headless Chromium for the page tests: the collector's pages as a browser renders
//! them. Where Chromium is absent the tests print SKIPPED (`cargo xtask test` installs
//! the Debian package `chromium` and reports such a skip in its summary).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where the Debian package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Whether [`CHROMIUM`] is installed.
pub fn available() -> bool {
    std::path::Path::new(CHROMIUM).exists()
}

/// Runs headless Chromium with a window of `window` (`"412,900"`) and `args` (a
/// `--dump-dom` or `--screenshot=FILE` and the URL), with its own throwaway profile,
/// for at most 90 s; its stdout. Panics when it does not finish in time.
pub fn run(window: &str, args: &[String]) -> String {
    let profile = crate::temp_dir("chromium-profile");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--window-size={window}"))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {CHROMIUM}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).map(|_| s)
    });
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) => {}
            Err(e) => panic!("cannot wait for chromium: {e}"),
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    match reader.join() {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => panic!("cannot read chromium's output: {e}"),
        Err(_) => panic!("the reader of chromium's output panicked"),
    }
}
