//! Bind mount sources that `create` opens on the host for the init, which attaches them in
//! mounts[] order: idmapped mounts (rootfs::idmap), and, when the init enters a user namespace,
//! every other bind source too. runc 1.1 does the same (its mount fds): inside the namespace
//! the init is the container's root, which may not reach a source under a host directory only
//! the host's root may search; through an fd opened beforehand no path is searched again.

use super::idmap;
use crate::mount_options as options;
use crate::process::sync::{self, Msg};
use anyhow::{Context, Result, bail};
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sched::{CloneFlags, setns};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use oci_spec::runtime::{Mount, Spec};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

/// What the init gets for one mount.
pub enum Source {
    /// A detached, idmapped copy of the source's mount tree, to attach as it is.
    Idmapped(OwnedFd),
    /// An O_PATH fd of the source, to bind-mount from.
    Opened(OwnedFd),
}

/// Whether `create` opens the bind sources for the init (`open_binds`): the init is cloned
/// into a new user namespace and a new mount namespace, and the caller is the host's root, not
/// `unprivileged` (runc's rule; a rootless caller reaches no more than the container's root
/// does).
pub fn open_binds(user_ns: bool, new_mount_ns: bool, unprivileged: bool) -> bool {
    user_ns && new_mount_ns && !unprivileged
}

fn is_bind(m: &Mount) -> bool {
    m.typ().as_deref() == Some("bind")
        || options::parse(m.options().as_deref().unwrap_or(&[]))
            .flags
            .contains(MsFlags::MS_BIND)
}

/// Whether mounts[i] comes with an fd from `create`.
fn passed(m: &Mount, open_binds: bool) -> bool {
    idmap::wanted(m).is_some() || (open_binds && is_bind(m))
}

/// `create` side, right after the clone of `init` (while create is one thread: this forks):
/// the plain bind sources, by mounts[] index. A source must be opened in the mount namespace
/// that the init mounts it in (the kernel binds only from a mount of the caller's namespace):
/// a child of ours joins the init's, where as the host's root it can reach any source, and
/// sends back O_PATH fds of them.
pub fn open_plain(
    spec: &Spec,
    init: Pid,
    bundle: &Path,
    open_binds: bool,
) -> Result<Vec<(usize, OwnedFd)>> {
    let mounts = spec.mounts().as_deref().unwrap_or(&[]);
    let mut wanted = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        if open_binds && idmap::wanted(m).is_none() && is_bind(m) {
            wanted.push((
                i,
                idmap::source(m, bundle).with_context(|| format!("mounts[{i}]"))?,
            ));
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let ns = format!("/proc/{init}/ns/mnt");
    let mnt = nix::fcntl::open(
        ns.as_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {ns}"))?;
    let (ours, theirs) = sync::pair()?;
    match crate::sys::clone3(0, None).context("forking to open the bind mount sources")? {
        crate::sys::Forked::Child => {
            drop(ours);
            let opened = (|| -> Result<Vec<OwnedFd>> {
                setns(&mnt, CloneFlags::CLONE_NEWNS)
                    .context("joining the container's mount namespace")?;
                wanted
                    .iter()
                    .map(|(i, src)| {
                        // Followed as mount(2) would follow it: the source is the config's.
                        nix::fcntl::open(src, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
                            .with_context(|| {
                                format!("mounts[{i}]: opening source {}", src.display())
                            })
                    })
                    .collect()
            })();
            let sent = match opened {
                Ok(fds) => {
                    let fds: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
                    theirs.send_with_fds(&Msg::Go, &fds)
                }
                Err(e) => theirs.send(&Msg::Error(format!("{e:#}"))),
            };
            crate::sys::exit_now(i32::from(sent.is_err()))
        }
        crate::sys::Forked::Parent { pid, .. } => {
            drop(theirs);
            let fds = ours.expect_with_fds(Msg::Go);
            let _ = nix::sys::wait::waitpid(pid, None);
            let fds = fds?;
            if fds.len() != wanted.len() {
                bail!(
                    "{} bind mount sources were opened, {} arrived",
                    wanted.len(),
                    fds.len()
                );
            }
            Ok(wanted.into_iter().map(|(i, _)| i).zip(fds).collect())
        }
    }
}

/// `create` side, once the id maps are written: every fd for the init in mounts[] order, the
/// idmapped mounts made now and the plain sources from `open_plain`.
pub fn all(
    spec: &Spec,
    init: Pid,
    bundle: &Path,
    plain: Vec<(usize, OwnedFd)>,
) -> Result<Vec<OwnedFd>> {
    let mounts = spec.mounts().as_deref().unwrap_or(&[]);
    let mut plain = plain.into_iter().peekable();
    let mut userns = None;
    let mut out = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        if let Some(how) = idmap::wanted(m) {
            if userns.is_none() {
                userns = Some(idmap::userns_of(init)?);
            }
            let src = idmap::source(m, bundle).with_context(|| format!("mounts[{i}]"))?;
            let ns = userns.as_ref().map(|f: &OwnedFd| f.as_fd());
            out.push(idmap::detach(
                i,
                &src,
                &how,
                ns.context("the init's user namespace")?,
            )?);
        } else if plain.peek().is_some_and(|(j, _)| *j == i)
            && let Some((_, fd)) = plain.next()
        {
            out.push(fd);
        }
    }
    Ok(out)
}

/// Init side: hands out the fds from `create` to the mounts they belong to.
pub struct Passed {
    fds: std::vec::IntoIter<OwnedFd>,
    open_binds: bool,
}

impl Passed {
    pub fn new(fds: Vec<OwnedFd>, open_binds: bool) -> Passed {
        Passed {
            fds: fds.into_iter(),
            open_binds,
        }
    }

    /// The source of mounts[i], if `create` passed one.
    pub fn take(&mut self, i: usize, m: &Mount) -> Result<Option<Source>> {
        if !passed(m, self.open_binds) {
            return Ok(None);
        }
        let fd = self
            .fds
            .next()
            .with_context(|| format!("mounts[{i}]: the source did not arrive from create"))?;
        Ok(Some(match idmap::wanted(m) {
            Some(_) => Source::Idmapped(fd),
            None => Source::Opened(fd),
        }))
    }
}
