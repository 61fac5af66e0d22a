//! linux.sysctl, written through the host's /proc before the container's rootfs exists.
//!
//! Namespaced sysctls resolve against the writer's namespaces, so the host's procfs (which the
//! container cannot touch) reaches the container's values. Writing through the container's
//! /proc instead would let a volume mounted over /proc redirect the write (CVE-2025-52881).
//! Validation (spec::validate) already refused every sysctl that is not namespaced.

use anyhow::{Context, Result};
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use std::collections::HashMap;

pub fn apply(sysctl: Option<&HashMap<String, String>>) -> Result<()> {
    let Some(map) = sysctl.filter(|m| !m.is_empty()) else {
        return Ok(());
    };
    let procsys = nix::fcntl::open(
        "/proc/sys",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .context("opening /proc/sys")?;
    for (key, value) in map {
        let rel = key.replace('.', "/");
        let how = OpenHow::new()
            .flags(OFlag::O_WRONLY | OFlag::O_CLOEXEC)
            .resolve(
                ResolveFlag::RESOLVE_BENEATH
                    | ResolveFlag::RESOLVE_NO_SYMLINKS
                    | ResolveFlag::RESOLVE_NO_XDEV,
            );
        let fd = openat2(&procsys, rel.as_str(), how)
            .with_context(|| format!("linux.sysctl.{key}: opening /proc/sys/{rel}"))?;
        nix::unistd::write(&fd, value.as_bytes())
            .with_context(|| format!("linux.sysctl.{key}: writing {value:?}"))?;
    }
    Ok(())
}
