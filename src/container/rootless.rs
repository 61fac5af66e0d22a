//! Rootless: hull run by an unprivileged user, or as root of a user namespace that is not the
//! host's (rootless podman runs its runtime so). Detected as runc's `--rootless auto` does.
//! What changes: the default state root, the id maps (the caller's own id, or
//! newuidmap/newgidmap for ranges), and the cgroup, which may be one the caller was delegated
//! or none at all, never a limit silently dropped.

use anyhow::{Result, bail};
use std::path::PathBuf;

/// `--rootless`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    True,
    False,
    Auto,
}

/// Whether hull runs rootless: not root, or root only of a user namespace other than the
/// host's (whose uid_map is not the identity of all 2^32-1 ids).
pub fn detect(flag: Flag) -> bool {
    match flag {
        Flag::True => true,
        Flag::False => false,
        Flag::Auto => !nix::unistd::geteuid().is_root() || !in_initial_user_ns(),
    }
}

fn in_initial_user_ns() -> bool {
    std::fs::read_to_string("/proc/self/uid_map").is_ok_and(|m| {
        let f: Vec<&str> = m.split_whitespace().collect();
        f == ["0", "0", "4294967295"]
    })
}

/// Whether the caller is unprivileged on the host: it can map only its own ids itself.
pub fn unprivileged() -> bool {
    !nix::unistd::geteuid().is_root()
}

/// The state root when `--root` is not given: `/run/hull`, or `$XDG_RUNTIME_DIR/hull` for a
/// rootless caller (as runc uses `$XDG_RUNTIME_DIR/runc`).
pub fn default_root(rootless: bool) -> Result<PathBuf> {
    if !rootless {
        return Ok(PathBuf::from(super::DEFAULT_ROOT));
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir).join("hull")),
        None if unprivileged() => bail!(
            "rootless: $XDG_RUNTIME_DIR is not set, so hull has no state root of yours: set it (systemd's pam_systemd does) or pass --root DIR"
        ),
        // Root of a user namespace without XDG_RUNTIME_DIR: /run/hull is as good as any.
        None => Ok(PathBuf::from(super::DEFAULT_ROOT)),
    }
}

/// A rootless container that cannot have a cgroup (none is delegated to the caller) runs
/// without one only if its config asks for no limit: a limit is never dropped silently.
pub fn check_no_cgroup(
    res: Option<&oci_spec::runtime::LinuxResources>,
    linux: Option<&oci_spec::runtime::Linux>,
    denied: &anyhow::Error,
) -> Result<()> {
    if let Some((controller, field)) = crate::cgroups::resources::requirements(res).first() {
        bail!(
            "{field}: a rootless container gets a {controller} limit only in a cgroup delegated to its user (systemd's user manager with --systemd-cgroup, or a cgroup subtree the user owns); here: {denied:#}"
        );
    }
    crate::cgroups::devices::check_unenforced(
        res.and_then(|r| r.devices().as_deref()),
        linux.and_then(|l| l.devices().as_deref()).unwrap_or(&[]),
    )
}

/// The caller's uid on the host: its euid, mapped out of the user namespace it may run in
/// (rootless podman runs hull as root of its own). That is who owns the session bus.
pub fn host_uid() -> Result<u32> {
    let euid = nix::unistd::geteuid().as_raw();
    let map = std::fs::read_to_string("/proc/self/uid_map")
        .map_err(|e| anyhow::anyhow!("reading /proc/self/uid_map: {e}"))?;
    for line in map.lines() {
        let f: Vec<u64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if let [inside, outside, count] = f[..]
            && (inside..inside + count).contains(&u64::from(euid))
        {
            return Ok((outside + u64::from(euid) - inside) as u32);
        }
    }
    bail!("uid {euid} has no mapping in /proc/self/uid_map")
}
