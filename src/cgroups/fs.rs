//! Reading and writing cgroup interface files, with errors that name the config field.

use anyhow::{Result, anyhow};
use std::io::Write;
use std::path::Path;

/// Writes `value` to `dir/file` in a single write(2) (the kernel parses one entry per write).
/// The file is never created: a missing interface file means a missing controller or an
/// older kernel, and says so in the error, which names `field`.
pub fn write(dir: &Path, file: &str, value: &str, field: &str) -> Result<()> {
    let path = dir.join(file);
    let res = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    res.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow!(
                "{field}: {} does not exist (its controller is not enabled for this cgroup, or this kernel lacks it)",
                path.display()
            )
        } else {
            anyhow!("{field}: writing {value:?} to {}: {e}", path.display())
        }
    })
}

/// The file's content, or None if it does not exist or cannot be read.
pub fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

/// A single-number file (`memory.current`); "max" reads as u64::MAX.
pub fn read_u64(dir: &Path, file: &str) -> Option<u64> {
    let t = read(dir, file)?;
    let t = t.trim();
    if t == "max" {
        return Some(u64::MAX);
    }
    t.parse().ok()
}

/// `key value` lines (`cpu.stat`, `memory.events`, `memory.stat`).
pub fn read_keyed(dir: &Path, file: &str) -> Vec<(String, u64)> {
    read(dir, file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// One value of a keyed file.
pub fn keyed(dir: &Path, file: &str, key: &str) -> Option<u64> {
    read_keyed(dir, file)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}
