//! linux.namespaces: which namespaces the init is cloned into, and which it joins by path.

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
    pub new_user: bool,
    pub user: bool,
    pub mount: bool,
}

fn flag(t: LinuxNamespaceType) -> CloneFlags {
    CloneFlags::from_bits_retain(t as i32)
}

pub fn plan(linux: Option<&Linux>) -> Result<Plan> {
    let mut p = Plan {
        clone_flags: CloneFlags::empty(),
        join: Vec::new(),
        pid_join: None,
        unshare_after_join: CloneFlags::empty(),
        new_user: false,
        user: false,
        mount: false,
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
                if user_by_path && t != LinuxNamespaceType::Pid {
                    p.unshare_after_join |= flag(t);
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
    /// Parent side, before the clone.
    pub fn enter_pid_ns(&self) -> Result<()> {
        if let Some(fd) = &self.pid_join {
            setns(fd.as_fd(), CloneFlags::CLONE_NEWPID)
                .context("linux.namespaces: joining the pid namespace")?;
        }
        Ok(())
    }

    /// Init side: join by path (user first), then create what must belong to a joined user
    /// namespace.
    pub fn join(&self) -> Result<()> {
        for (t, fd) in &self.join {
            setns(fd.as_fd(), flag(*t))
                .with_context(|| format!("linux.namespaces: joining the {t} namespace"))?;
        }
        if !self.unshare_after_join.is_empty() {
            unshare(self.unshare_after_join)
                .context("linux.namespaces: creating namespaces in the joined user namespace")?;
        }
        Ok(())
    }
}
