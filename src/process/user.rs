//! process.user and the user namespace's id maps (config-linux.md "User namespace mappings").

use anyhow::{Context, Result};
use nix::unistd::{Gid, Pid, Uid, setgroups, setresgid, setresuid};
use oci_spec::runtime::{Linux, LinuxIdMapping, User};
use std::os::fd::{AsFd, BorrowedFd};

/// Parent side: writes uid_map and gid_map of the freshly cloned init.
/// An `unprivileged` caller (container::rootless) maps through the setuid helpers.
pub fn write_id_maps(pid: Pid, linux: &Linux, unprivileged: bool) -> Result<()> {
    if unprivileged {
        return write_id_maps_unprivileged(pid, linux);
    }
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

/// An unprivileged caller may map its own uid and gid itself (the gid only once setgroups is
/// denied, a kernel rule); any other mapping goes through the setuid helpers newuidmap and
/// newgidmap, which check /etc/subuid and /etc/subgid.
fn write_id_maps_unprivileged(pid: Pid, linux: &Linux) -> Result<()> {
    let own_only = |maps: &[LinuxIdMapping], own: u32| matches!(maps, [m] if m.host_id() == own && m.size() == 1);
    let uids = linux.uid_mappings().as_deref().unwrap_or(&[]);
    let gids = linux.gid_mappings().as_deref().unwrap_or(&[]);
    let (euid, egid) = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    if own_only(uids, euid) {
        let m = &uids[0];
        let path = format!("/proc/{pid}/uid_map");
        std::fs::write(&path, format!("{} {euid} 1\n", m.container_id()))
            .with_context(|| format!("linux.uidMappings: writing {path}"))?;
    } else {
        helper(
            "newuidmap",
            "linux.uidMappings",
            "/etc/subuid",
            euid,
            pid,
            uids,
        )?;
    }
    if own_only(gids, egid) {
        let m = &gids[0];
        let sg = format!("/proc/{pid}/setgroups");
        std::fs::write(&sg, "deny").with_context(|| format!("linux.gidMappings: writing {sg}"))?;
        let path = format!("/proc/{pid}/gid_map");
        std::fs::write(&path, format!("{} {egid} 1\n", m.container_id()))
            .with_context(|| format!("linux.gidMappings: writing {path}"))?;
    } else {
        helper(
            "newgidmap",
            "linux.gidMappings",
            "/etc/subgid",
            euid,
            pid,
            gids,
        )?;
    }
    Ok(())
}

fn helper(
    prog: &str,
    field: &str,
    ranges: &str,
    uid: u32,
    pid: Pid,
    maps: &[LinuxIdMapping],
) -> Result<()> {
    let mut cmd = std::process::Command::new(prog);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container_id().to_string(),
            m.host_id().to_string(),
            m.size().to_string(),
        ]);
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
            "{field}: mapping more than your own id (uid {uid}) needs {prog} (Debian package uidmap) and a range for your user in {ranges}"
        ),
        Err(e) => return Err(e).with_context(|| format!("{field}: running {prog}")),
    };
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr)
            .trim()
            .replace('\n', " ");
        anyhow::bail!(
            "{field}: {prog} refused the mapping (is it inside your range in {ranges}?): {why}"
        );
    }
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

/// runc's fixStdioPermissions, before the user switch (it needs CAP_CHOWN): the process's stdio
/// becomes its user's, so that a non-root process can use its terminal and reopen /dev/stdout.
/// `planned` are the pipes that replace 0, 1, 2 later (process::stdio). Only the owner changes
/// (the group stays, e.g. devpts's `gid=5`); a file the kernel will not chown here (an owner
/// outside a user namespace's map, a read-only /dev) is left as it is, as runc leaves it.
/// Unlike runc, only a pty (with `terminal`), pipes and sockets are given away: never /dev/null,
/// the caller's terminal or a regular file of the host.
pub fn give_stdio(uid: u32, terminal: bool, planned: &[Option<BorrowedFd>; 3]) -> Result<()> {
    use nix::errno::Errno;
    use nix::sys::stat::SFlag;
    let (i, o, e) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let inherited = [i.as_fd(), o.as_fd(), e.as_fd()];
    for (n, fd) in inherited.into_iter().enumerate() {
        let fd = planned[n].unwrap_or(fd);
        let Ok(st) = nix::sys::stat::fstat(fd) else {
            continue;
        };
        let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        let ours = match kind {
            SFlag::S_IFIFO | SFlag::S_IFSOCK => true,
            // With a terminal, 0, 1 and 2 are the pty hull allocated.
            SFlag::S_IFCHR => terminal,
            _ => false,
        };
        if !ours || st.st_uid == uid {
            continue;
        }
        match nix::unistd::fchown(fd, Some(Uid::from_raw(uid)), None) {
            Ok(()) | Err(Errno::EINVAL | Errno::EPERM | Errno::EROFS | Errno::EOPNOTSUPP) => {}
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("process.user.uid: giving fd {n} to uid {uid}"));
            }
        }
    }
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
    // A user namespace whose gid map an unprivileged caller wrote itself has setgroups denied:
    // nothing to drop then, and nothing can be added.
    let denied = std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
    if denied && !gids.is_empty() {
        anyhow::bail!(
            "process.user.additionalGids: setgroups is denied in this user namespace (rootless, with only your own gid mapped): map a gid range with newgidmap to use supplementary groups"
        );
    }
    if !denied {
        setgroups(&gids).context("process.user.additionalGids: setgroups")?;
    }
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
