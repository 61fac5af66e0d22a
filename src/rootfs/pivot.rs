//! Switching root: pivot_root with the old root detached, or MS_MOVE + chroot for --no-pivot.

use anyhow::{Context, Result};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::unistd::{chdir, chroot, fchdir, pivot_root as sys_pivot_root};
use std::os::fd::BorrowedFd;
use std::path::Path;

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

pub fn move_and_chroot(rootfs: &Path) -> Result<()> {
    chdir(rootfs).context("entering the rootfs")?;
    mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
        .context("moving the rootfs to /")?;
    chroot(".").context("chroot")?;
    chdir("/").context("chdir /")?;
    Ok(())
}
