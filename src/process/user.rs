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

/// A session keyring of the container's own, as runc makes: the caller's keys stay out of
/// reach. Searchable by the container's user (by everyone with a user namespace, whose uids
/// differ), so that exec'd processes can join it by name.
pub fn new_session_keyring(name: &str, userns: bool) -> Result<()> {
    let Some(serial) = join_session_keyring(name)? else {
        return Ok(());
    };
    let search = if userns { 0x0000_0008 } else { 0x0008_0000 };
    crate::sys::keyring::add_key_perm(serial, search)
        .with_context(|| format!("setting the permissions of session keyring {name}"))
}

/// Joins the session keyring `name` (the container's, for exec), or makes it. None when the
/// kernel has no keyrings, which then have nothing to share either.
pub fn join_session_keyring(name: &str) -> Result<Option<i32>> {
    match crate::sys::keyring::join_session_keyring(name) {
        Ok(serial) => Ok(Some(serial)),
        Err(nix::errno::Errno::ENOSYS) => Ok(None),
        Err(e) => Err(e).with_context(|| {
            format!("joining the session keyring {name} (--no-new-keyring skips it)")
        }),
    }
}
