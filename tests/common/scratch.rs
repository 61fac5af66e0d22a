//! Scratch space: the temp dirs and unique names every test's files and ids hang off.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub(super) static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Base directory for all test scratch files (on the target dir's filesystem).
pub fn tmp_base() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hull-it");
    fs::create_dir_all(&p).unwrap();
    // Must be traversable by other uids (user-namespace tests map root to 100000).
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// A short name unique to this process and call: `<tag>-<pid>-<n>`.
pub fn unique(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let tag: String = tag
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(24)
        .collect();
    // Fixed-width counter: no id is a substring of another id.
    format!("{}-{}-{:04}", tag, std::process::id(), n)
}

/// Name of the running test (libtest names threads after tests), shortened.
pub(super) fn test_tag() -> String {
    let name = std::thread::current().name().unwrap_or("t").to_string();
    name.rsplit("::").next().unwrap_or("t").to_string()
}

pub(super) fn mkdir_0755(p: &Path) {
    fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
}
