//! Switching root: pivot_root with the old root detached, or MS_MOVE + chroot for --no-pivot.

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::unistd::{chdir, chroot, fchdir, pivot_root as sys_pivot_root};
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

pub fn pivot_root(root: BorrowedFd) -> Result<()> {
    // pivot_root(".", ".") stacks the old root on top of the new one, so no directory for it has
    // to exist in the (possibly read-only) rootfs.
    fchdir(root).context("entering the rootfs")?;
    sys_pivot_root(".", ".").context("pivot_root")?;
    // Detaching the old root must not propagate an unmount to the host.
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .context("making the old root a slave")?;
    umount2(".", MntFlags::MNT_DETACH).context("detaching the old root")?;
    chdir("/").context("chdir /")?;
    Ok(())
}

/// --no-pivot, runc 1.1's msMoveRoot: the rootfs is moved onto `/` and chrooted into. The
/// host's mounts stay in the namespace under it, so its procfs and sysfs are detached first:
/// the kernel allows a nested user namespace a new procfs or sysfs only where a full one is
/// already in the mount namespace, and a fresh procfs shows all that masked paths hide.
pub fn move_and_chroot(rootfs: &Path) -> Result<()> {
    detach_host_pseudo_fs(rootfs)?;
    chdir(rootfs).context("entering the rootfs")?;
    mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
        .context("moving the rootfs to /")?;
    chroot(".").context("chroot")?;
    chdir("/").context("chdir /")?;
    Ok(())
}

/// Detaches every full procfs and sysfs mount outside `rootfs` from this (private, slave) mount
/// namespace; one the kernel keeps (locked in a user namespace) is covered with a tmpfs, as
/// runc does.
fn detach_host_pseudo_fs(rootfs: &Path) -> Result<()> {
    let info =
        std::fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    let targets: Vec<PathBuf> = info
        .lines()
        .filter_map(|line| {
            // "id parent major:minor root mountpoint opts ... - fstype source superopts"
            let (left, right) = line.split_once(" - ")?;
            let f: Vec<&str> = left.split(' ').collect();
            let fstype = right.split(' ').next()?;
            let full = f.get(3) == Some(&"/");
            let mp = PathBuf::from(crate::cgroups::unescape(f.get(4)?));
            (full && matches!(fstype, "proc" | "sysfs") && !mp.starts_with(rootfs)).then_some(mp)
        })
        .collect();
    for mp in targets {
        match umount2(&mp, MntFlags::MNT_DETACH) {
            // Gone already, with a mount above it.
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(Errno::EINVAL | Errno::EPERM) => {
                match mount(
                    Some("tmpfs"),
                    &mp,
                    Some("tmpfs"),
                    MsFlags::empty(),
                    None::<&str>,
                ) {
                    Ok(()) | Err(Errno::ENOENT) => {}
                    Err(e) => {
                        return Err(e)
                            .with_context(|| format!("--no-pivot: covering {}", mp.display()));
                    }
                }
            }
            Err(e) => {
                return Err(e).with_context(|| format!("--no-pivot: detaching {}", mp.display()));
            }
        }
    }
    Ok(())
}
