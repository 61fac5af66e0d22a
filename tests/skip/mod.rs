//! How a test that cannot run here says so: one line on stderr with the reason, and, when
//! integration/test sets HULL_SKIP_LOG, a line in that file, so that the run's closing count
//! reports the test as skipped rather than passed (libtest counts an early return as a pass).
#![allow(dead_code)]

use std::io::Write;

/// Call, then return from the test.
pub fn skip(why: &str) {
    // libtest runs each test on a thread named after it.
    let test = std::thread::current()
        .name()
        .unwrap_or("unknown test")
        .to_string();
    // The test binary is <target>-<hash>.
    let exe = std::env::current_exe().ok();
    let stem = exe
        .as_deref()
        .and_then(|p| p.file_stem())
        .and_then(|s| s.to_str())
        .unwrap_or("?");
    let target = stem.rsplit_once('-').map_or(stem, |(t, _)| t);
    eprintln!("skipping {target}::{test}: {why}");
    if let Some(log) = std::env::var_os("HULL_SKIP_LOG") {
        let line = format!("{target}::{test}: {why}\n");
        // One append per line: tests skip concurrently.
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            panic!("cannot record the skip in HULL_SKIP_LOG: {e}");
        }
    }
}
