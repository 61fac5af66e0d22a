//! linux.resources.unified: raw cgroup v2 `file: value` pairs, checked so that no key can
//! leave the container's cgroup directory or touch what hull itself manages.

use super::fs;
use anyhow::{Result, bail};
use std::collections::HashMap;
use std::path::Path;

/// Controllers whose files a unified key may name (besides `cgroup.*`).
pub const CONTROLLERS: [&str; 8] = [
    "cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc",
];

/// Files hull owns: membership, kill and the controller tree are not resource settings.
const RESERVED: [&str; 5] = [
    "cgroup.procs",
    "cgroup.threads",
    "cgroup.kill",
    "cgroup.subtree_control",
    "cgroup.freeze",
];

/// The controller a key belongs to ("cgroup" for core files), or why the key is refused.
pub fn controller_of(key: &str) -> Result<&str, String> {
    if key.is_empty() || key.contains('/') || key.contains('\0') || key == "." || key == ".." {
        return Err(
            "must be a file name in the container's cgroup (no '/', not '.' or '..')".into(),
        );
    }
    let Some((ctl, param)) = key.split_once('.') else {
        return Err("must be CONTROLLER.PARAMETER, e.g. memory.high".into());
    };
    if param.is_empty() {
        return Err("must be CONTROLLER.PARAMETER, e.g. memory.high".into());
    }
    if ctl == "cgroup" {
        if RESERVED.contains(&key) {
            return Err("is managed by hull itself".into());
        }
        return Ok("cgroup");
    }
    if !CONTROLLERS.contains(&ctl) {
        return Err(format!("{ctl:?} is not a cgroup v2 controller"));
    }
    Ok(ctl)
}

pub fn validate(u: &HashMap<String, String>) -> Result<()> {
    for k in u.keys() {
        if let Err(e) = controller_of(k) {
            bail!("linux.resources.unified: key {k:?} {e}");
        }
    }
    Ok(())
}

pub fn apply(dir: &Path, u: &HashMap<String, String>) -> Result<()> {
    // Sorted, so that the order of writes (and of errors) does not depend on hashing.
    let mut keys: Vec<&String> = u.keys().collect();
    keys.sort();
    for k in keys {
        if let Err(e) = controller_of(k) {
            bail!("linux.resources.unified: key {k:?} {e}");
        }
        fs::write(dir, k, &u[k], &format!("linux.resources.unified[{k:?}]"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_or_touch_hulls_files() {
        assert_eq!(controller_of("memory.high"), Ok("memory"));
        assert_eq!(controller_of("cpu.weight.nice"), Ok("cpu"));
        assert_eq!(controller_of("cgroup.max.depth"), Ok("cgroup"));
        for bad in [
            "../memory.max",
            "memory.max/..",
            "..",
            ".",
            "",
            "a/b",
            "memory",
            "memory.",
            "devices.allow",
            "freezer.state",
            "cgroup.procs",
            "cgroup.kill",
            "cgroup.subtree_control",
        ] {
            assert!(controller_of(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
