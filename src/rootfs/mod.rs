//! The container's root filesystem (runtime-spec config.md "Root", "Mounts", config-linux.md
//! "Devices", "Masked/Readonly Paths", "Rootfs Mount Propagation").
//!
//! Two phases around the createRuntime hooks: `prepare` builds everything inside the rootfs,
//! `enter` masks paths and switches root.

mod copyup;
mod devices;
pub mod idmap;
mod mount;
mod paths;
mod pivot;
pub mod resolve;
pub mod sources;

use anyhow::{Context, Result};
use nix::mount::{MsFlags, mount};
use oci_spec::runtime::Spec;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// What the rootfs phases need to know beyond the spec.
pub struct Rootfs {
    pub path: PathBuf,
    pub fd: OwnedFd,
    /// Inside a new user namespace, device nodes cannot be created and are bound from the host.
    pub in_userns: bool,
    /// The container's cgroup directory on the host (for a `cgroup` mount that cannot be a new
    /// cgroup2 instance).
    pub cgroup_dir: PathBuf,
    /// Mounts made writable that become read-only at `enter` (mount::late_readonly): their
    /// destinations and remount flags.
    late_readonly: Vec<(PathBuf, MsFlags)>,
}

/// Builds the mounts and /dev inside the rootfs. The host's /proc is still this process's /proc.
pub fn prepare(
    spec: &Spec,
    path: &Path,
    in_userns: bool,
    cgroup_dir: PathBuf,
    bundle: &Path,
    mut sources: sources::Passed,
) -> Result<Rootfs> {
    // Nothing mounted from here on may propagate back to the host: make every mount a slave.
    // The requested rootfsPropagation is applied to the new root once it is in place.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .context("making / a recursive slave")?;
    // pivot_root needs the new root to be a mount point.
    mount(
        Some(path),
        path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("root.path: bind-mounting {} onto itself", path.display()))?;
    let fd = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("root.path: opening {}", path.display()))?;
    let mounts = spec.mounts().clone().unwrap_or_default();
    let rootfs = Rootfs {
        path: path.to_path_buf(),
        fd,
        in_userns,
        cgroup_dir,
        late_readonly: mounts
            .iter()
            .filter_map(|m| Some((m.destination().clone(), mount::late_readonly(m)?)))
            .collect(),
    };
    for (i, m) in mounts.iter().enumerate() {
        let source = sources.take(i, m)?;
        mount::mount_entry(&rootfs, m, bundle, source)
            .with_context(|| format!("mounts[{i}] ({})", m.destination().display()))?;
    }
    if devices::dev_is_ours(&mounts) {
        devices::create(&rootfs, spec)?;
    }
    // runc creates a missing cwd, and images rely on it (WORKDIR of a directory the image lacks).
    if let Some(p) = spec.process() {
        resolve::mkdir_all(rootfs.fd.as_fd(), p.cwd())
            .with_context(|| format!("process.cwd: creating {}", p.cwd().display()))?;
    }
    Ok(rootfs)
}

/// Masks and write-protects paths, then makes the rootfs the process's root.
pub fn enter(spec: &Spec, rootfs: &Rootfs, no_pivot: bool) -> Result<()> {
    let linux = spec.linux().as_ref();
    finish_readonly(rootfs)?;
    paths::mask(
        rootfs.fd.as_fd(),
        linux
            .and_then(|l| l.masked_paths().as_deref())
            .unwrap_or(&[]),
    )?;
    paths::readonly(
        rootfs.fd.as_fd(),
        linux
            .and_then(|l| l.readonly_paths().as_deref())
            .unwrap_or(&[]),
    )?;
    if no_pivot {
        pivot::move_and_chroot(&rootfs.path)?;
    } else {
        pivot::pivot_root(rootfs.fd.as_fd())?;
    }
    if spec
        .root()
        .as_ref()
        .is_some_and(|r| r.readonly() == Some(true))
    {
        mount::remount("/", MsFlags::MS_BIND | MsFlags::MS_RDONLY)
            .context("root.readonly: remounting / read-only")?;
    }
    if let Some(prop) = linux.and_then(|l| l.rootfs_propagation().as_deref()) {
        let flags = crate::mount_options::propagation(prop)
            .with_context(|| format!("linux.rootfsPropagation: unknown value {prop:?}"))?;
        mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
            .with_context(|| format!("linux.rootfsPropagation: applying {prop:?} to /"))?;
    }
    Ok(())
}

/// The read-only remount of the mounts that stayed writable until /dev was populated and the
/// console bound (mount::late_readonly), runc's finalizeRootfs.
fn finish_readonly(rootfs: &Rootfs) -> Result<()> {
    for (dest, flags) in &rootfs.late_readonly {
        let target = resolve::open(rootfs.fd.as_fd(), dest, nix::fcntl::OFlag::O_PATH)
            .with_context(|| format!("mounts ({}): reopening it", dest.display()))?;
        mount::remount(&resolve::fd_path(&target), *flags | MsFlags::MS_RDONLY)
            .with_context(|| format!("mounts ({}): remounting read-only", dest.display()))?;
    }
    Ok(())
}

/// Without a mount namespace of its own the container shares the host's mounts: hull only
/// changes its root (as crun does) and mounts nothing, since every mount would land on the host.
pub fn chroot_only(spec: &Spec, path: &Path) -> Result<()> {
    let skipped = spec.mounts().as_ref().map_or(0, Vec::len)
        + spec.linux().as_ref().map_or(0, |l| {
            l.masked_paths().as_ref().map_or(0, Vec::len)
                + l.readonly_paths().as_ref().map_or(0, Vec::len)
        });
    if skipped > 0 {
        crate::logging::warn(&format!(
            "linux.namespaces has no mount namespace: {skipped} mounts, masked and read-only paths are not applied (they would change the host)"
        ));
    }
    nix::unistd::chroot(path)
        .with_context(|| format!("root.path: chroot to {}", path.display()))?;
    nix::unistd::chdir("/").context("chdir /")
}
