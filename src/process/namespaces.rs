//! linux.namespaces: which namespaces the init is cloned into, and which it joins by path.

use super::sync::{Msg, Sync};
use anyhow::{Context, Result, bail};
use nix::fcntl::{OFlag, open};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::stat::Mode;
use oci_spec::runtime::{Linux, LinuxNamespaceType};
use std::os::fd::{AsFd, OwnedFd};

pub struct Plan {
    /// Namespaces the clone creates.
    pub clone_flags: CloneFlags,
    /// Namespaces the init joins by path, user first.
    pub join: Vec<(LinuxNamespaceType, OwnedFd)>,
    /// A pid namespace to join: set on the parent before the clone, so only the child enters.
    pub pid_join: Option<OwnedFd>,
    /// When the user namespace is joined by path, the other new namespaces must be created after
    /// joining it, so that they belong to it.
    pub unshare_after_join: CloneFlags,
    /// A new pid namespace among those: unshare only puts the caller's children in it, so the
    /// init forks once more and its child goes on as the container's pid 1.
    pub fork_after_join: bool,
    pub new_user: bool,
    /// A new network namespace, whose loopback the init brings up.
    pub new_net: bool,
    pub user: bool,
    pub mount: bool,
    /// linux.timeOffsets go into the new time namespace (`defer_time_ns`).
    pub time_offsets: bool,
}

/// CLONE_NEWTIME, which nix does not name.
const NEWTIME: CloneFlags = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);

fn flag(t: LinuxNamespaceType) -> CloneFlags {
    CloneFlags::from_bits_retain(t as i32)
}

pub fn plan(linux: Option<&Linux>) -> Result<Plan> {
    let mut p = Plan {
        clone_flags: CloneFlags::empty(),
        join: Vec::new(),
        pid_join: None,
        unshare_after_join: CloneFlags::empty(),
        fork_after_join: false,
        new_user: false,
        new_net: false,
        user: false,
        mount: false,
        time_offsets: false,
    };
    let nss = linux
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    let user_by_path = nss
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_some());
    for (i, ns) in nss.iter().enumerate() {
        let t = ns.typ();
        match t {
            LinuxNamespaceType::User => p.user = true,
            LinuxNamespaceType::Mount => p.mount = true,
            _ => {}
        }
        match ns.path() {
            None => {
                if t == LinuxNamespaceType::User {
                    p.new_user = true;
                }
                p.new_net |= t == LinuxNamespaceType::Network;
                if user_by_path {
                    // A pid namespace cloned here would belong to the host's user namespace,
                    // whose root the container is not: it could not even mount its /proc.
                    p.unshare_after_join |= flag(t);
                    p.fork_after_join |= t == LinuxNamespaceType::Pid;
                } else {
                    p.clone_flags |= flag(t);
                }
            }
            Some(path) => {
                let fd = open(
                    path.as_path(),
                    OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .with_context(|| {
                    format!("linux.namespaces[{i}].path: opening {}", path.display())
                })?;
                let actual = crate::sys::ns_type(fd.as_fd()).with_context(|| {
                    format!(
                        "linux.namespaces[{i}].path: {} is not a namespace file",
                        path.display()
                    )
                })?;
                if actual != t as i32 {
                    bail!(
                        "linux.namespaces[{i}].path: {} is not a {t} namespace",
                        path.display()
                    );
                }
                if t == LinuxNamespaceType::Pid {
                    p.pid_join = Some(fd);
                } else if t == LinuxNamespaceType::User {
                    p.join.insert(0, (t, fd));
                } else {
                    p.join.push((t, fd));
                }
            }
        }
    }
    Ok(p)
}

impl Plan {
    /// linux.timeOffsets can only be written while no process is in the time namespace: the
    /// clone would put the init in it at once. So the init unshares it (its children, and
    /// itself at execve, enter it) and writes the offsets in between (`write_time_offsets`).
    pub fn defer_time_ns(&mut self, linux: Option<&Linux>) -> Result<()> {
        if linux
            .and_then(|l| l.time_offsets().as_ref())
            .is_none_or(|o| o.is_empty())
        {
            return Ok(());
        }
        if !self.clone_flags.contains(NEWTIME) && !self.unshare_after_join.contains(NEWTIME) {
            bail!(
                "linux.timeOffsets: offsets need a new time namespace (a {{\"type\": \"time\"}} entry without a path in linux.namespaces)"
            );
        }
        self.clone_flags.remove(NEWTIME);
        self.unshare_after_join |= NEWTIME;
        self.time_offsets = true;
        Ok(())
    }

    /// A new cgroup namespace is made by the init once it is in its cgroup (after `Go`),
    /// not by the clone: the namespace is rooted at the cgroup the process is in when it is made.
    pub fn defer_cgroup_ns(&mut self) {
        if self.clone_flags.contains(CloneFlags::CLONE_NEWCGROUP) {
            self.clone_flags.remove(CloneFlags::CLONE_NEWCGROUP);
            self.unshare_after_join |= CloneFlags::CLONE_NEWCGROUP;
        }
    }

    /// Parent side, before the clone.
    pub fn enter_pid_ns(&self) -> Result<()> {
        if let Some(fd) = &self.pid_join {
            setns(fd.as_fd(), CloneFlags::CLONE_NEWPID)
                .context("linux.namespaces: joining the pid namespace")?;
        }
        Ok(())
    }

    /// Init side: join by path (user first), then create what must belong to a joined user
    /// namespace. With a new pid namespace among those, only the child of a fork is in it: the
    /// init forks, hands the child's pidfd to `create` over `sync` and exits, and the child
    /// returns from here as the container's init.
    pub fn join(&self, sync: &Sync) -> Result<()> {
        for (t, fd) in &self.join {
            setns(fd.as_fd(), flag(*t))
                .with_context(|| format!("linux.namespaces: joining the {t} namespace"))?;
        }
        if !self.unshare_after_join.is_empty() {
            unshare(self.unshare_after_join)
                .context("linux.namespaces: creating namespaces in the joined user namespace")?;
        }
        if self.fork_after_join {
            match crate::sys::clone3(0, None).context("forking into the new pid namespace")? {
                crate::sys::Forked::Child => {}
                crate::sys::Forked::Parent { pidfd, .. } => {
                    let sent = sync.send_with_fds(&Msg::Forked, &[pidfd.as_fd()]);
                    crate::sys::exit_now(if sent.is_ok() { 0 } else { 1 });
                }
            }
        }
        Ok(())
    }
}

/// A new network namespace starts with `lo` down, so nothing in the container could reach
/// 127.0.0.1; runc and crun bring it up, and the kernel then gives it 127.0.0.1/8 and ::1.
pub fn loopback_up() -> Result<()> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .context("a socket to configure lo")?;
    crate::sys::set_link_up(sock.as_fd(), "lo")
        .context("bringing up lo in the new network namespace")
}

/// Init side, after `join` unshared the time namespace: its offsets, through the host's procfs
/// (`proc`), as "<clock> <secs> <nanosecs>" lines (time_namespaces(7)).
pub fn write_time_offsets(
    proc: std::os::fd::BorrowedFd,
    offsets: &std::collections::HashMap<String, oci_spec::runtime::LinuxTimeOffset>,
) -> Result<()> {
    let mut text = String::new();
    let mut clocks: Vec<&String> = offsets.keys().collect();
    clocks.sort();
    for clock in clocks {
        if clock != "monotonic" && clock != "boottime" {
            bail!("linux.timeOffsets.{clock}: only monotonic and boottime have offsets");
        }
        let o = &offsets[clock];
        text.push_str(&format!(
            "{clock} {} {}\n",
            o.secs().unwrap_or(0),
            o.nanosecs().unwrap_or(0)
        ));
    }
    let fd = nix::fcntl::openat(
        proc,
        "self/timens_offsets",
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("linux.timeOffsets: opening timens_offsets")?;
    nix::unistd::write(&fd, text.as_bytes())
        .map(drop)
        .with_context(|| format!("linux.timeOffsets: writing {:?}", text.trim()))
}
