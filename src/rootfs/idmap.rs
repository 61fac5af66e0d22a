//! Idmapped bind mounts (config.md "Mounts": `uidMappings`, `gidMappings`, and the `idmap` and
//! `ridmap` options), as engines use them for volumes of user-namespaced containers: files keep
//! their owners on disk and show up inside the user namespace as owned by the same ids.
//!
//! Only a process privileged over the source filesystem may idmap a mount, which the init in its
//! user namespace is not. So `create` clones each such source as a detached mount, idmaps it
//! through the init's user namespace, and passes it over the sync socket; the init attaches it
//! where the mount goes, in mounts[] order. Validation (spec::validate) has ensured that such a
//! mount is a bind mount, that the container has a new user namespace, and that any mappings
//! given are the container's own.

use crate::sys::mount_api;
use anyhow::{Context, Result};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use oci_spec::runtime::Mount;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// How one mount is idmapped.
pub struct Idmap {
    /// `ridmap`: the mounts below the source are idmapped too.
    pub recursive: bool,
    /// `rbind`: the mounts below the source come along.
    pub tree: bool,
}

/// Whether `m` is an idmapped mount, and how.
pub fn wanted(m: &Mount) -> Option<Idmap> {
    let opts = m.options().as_deref().unwrap_or(&[]);
    let has = |o: &str| opts.iter().any(|x| x == o);
    let idmapped =
        has("idmap") || has("ridmap") || m.uid_mappings().is_some() || m.gid_mappings().is_some();
    idmapped.then(|| Idmap {
        recursive: has("ridmap"),
        tree: has("rbind"),
    })
}

/// A bind mount's source: absolute, or relative to the bundle.
pub fn source(m: &Mount, bundle: &Path) -> Result<PathBuf> {
    let src = m
        .source()
        .clone()
        .context("source: a bind mount needs a source")?;
    Ok(if src.is_absolute() {
        src
    } else {
        bundle.join(src)
    })
}

/// An fd of the init's user namespace, through which mounts are idmapped.
pub fn userns_of(init: Pid) -> Result<OwnedFd> {
    let ns = format!("/proc/{init}/ns/user");
    nix::fcntl::open(
        ns.as_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {ns}"))
}

/// `create` side: a detached copy of mounts[i]'s source `src`, idmapped through `userns`.
pub fn detach(
    i: usize,
    src: &Path,
    how: &Idmap,
    userns: std::os::fd::BorrowedFd,
) -> Result<OwnedFd> {
    let fd = mount_api::open_tree_clone(src, how.tree)
        .with_context(|| format!("mounts[{i}]: cloning the mount of {}", src.display()))?;
    mount_api::set_idmap(fd.as_fd(), userns, how.recursive).with_context(|| {
        format!(
            "mounts[{i}]: idmapping {} (its filesystem must support idmapped mounts)",
            src.display()
        )
    })?;
    Ok(fd)
}
