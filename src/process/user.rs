//! process.user and the user namespace's id maps (config-linux.md "User namespace mappings").

use anyhow::{Context, Result};
use nix::unistd::{Gid, Pid, Uid, setgroups, setresgid, setresuid};
use oci_spec::runtime::{Linux, LinuxIdMapping, User};

/// Parent side: writes uid_map and gid_map of the freshly cloned init.
pub fn write_id_maps(pid: Pid, linux: &Linux) -> Result<()> {
    let fmt = |maps: &Option<Vec<LinuxIdMapping>>| -> String {
        maps.iter()
            .flatten()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect()
    };
    let uid = format!("/proc/{pid}/uid_map");
    std::fs::write(&uid, fmt(linux.uid_mappings()))
        .with_context(|| format!("linux.uidMappings: writing {uid}"))?;
    let gid = format!("/proc/{pid}/gid_map");
    std::fs::write(&gid, fmt(linux.gid_mappings()))
        .with_context(|| format!("linux.gidMappings: writing {gid}"))?;
    Ok(())
}

/// Init side: becomes root of a new user namespace (the clone left it as the overflow id).
pub fn become_ns_root() -> Result<()> {
    setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
        .context("setresgid(0) in the user namespace")?;
    setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
        .context("setresuid(0) in the user namespace")?;
    Ok(())
}

/// Init side: switches to process.user, keeping the permitted capabilities so that the
/// capability sets can be applied afterwards.
pub fn switch(user: &User) -> Result<()> {
    let gids: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    setgroups(&gids).context("process.user.additionalGids: setgroups")?;
    let gid = Gid::from_raw(user.gid());
    setresgid(gid, gid, gid).with_context(|| format!("process.user.gid: setresgid({gid})"))?;
    nix::sys::prctl::set_keepcaps(true).context("prctl(PR_SET_KEEPCAPS)")?;
    let uid = Uid::from_raw(user.uid());
    setresuid(uid, uid, uid).with_context(|| format!("process.user.uid: setresuid({uid})"))?;
    nix::sys::prctl::set_keepcaps(false).context("prctl(PR_SET_KEEPCAPS)")?;
    Ok(())
}
