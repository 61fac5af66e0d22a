//! linux.maskedPaths and linux.readonlyPaths, applied inside the rootfs before pivot_root, while
//! the host's trusted /proc and /dev/null are still reachable.

use super::mount::{is_char_dev, remount};
use super::resolve;
use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{SFlag, fstat};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

pub fn mask(root: BorrowedFd, paths: &[String]) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    // The host's /dev/null, verified to be the real 1:3 device, so a masked path can never be
    // bound to something else (CVE-2025-31133).
    let null = nix::fcntl::open(
        "/dev/null",
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .context("opening the host's /dev/null")?;
    if !is_char_dev(&null, 1, 3) {
        bail!("the host's /dev/null is not the character device 1:3");
    }
    for (i, p) in paths.iter().enumerate() {
        let target = match resolve::open(root, Path::new(p), OFlag::O_PATH) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(e).with_context(|| format!("linux.maskedPaths[{i}] ({p})")),
        };
        let st = fstat(target.as_fd()).with_context(|| format!("linux.maskedPaths[{i}] ({p})"))?;
        let tpath = resolve::fd_path(&target);
        let res = if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR {
            mount(
                Some("tmpfs"),
                tpath.as_str(),
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None::<&str>,
            )
        } else {
            mount(
                Some(resolve::fd_path(&null).as_str()),
                tpath.as_str(),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
        };
        res.with_context(|| format!("linux.maskedPaths[{i}] ({p}): masking"))?;
    }
    Ok(())
}

pub fn readonly(root: BorrowedFd, paths: &[String]) -> Result<()> {
    for (i, p) in paths.iter().enumerate() {
        let target = match resolve::open(root, Path::new(p), OFlag::O_PATH) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(e).with_context(|| format!("linux.readonlyPaths[{i}] ({p})")),
        };
        let tpath = resolve::fd_path(&target);
        mount(
            Some(tpath.as_str()),
            tpath.as_str(),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .with_context(|| format!("linux.readonlyPaths[{i}] ({p}): bind"))?;
        let new = resolve::open(root, Path::new(p), OFlag::O_PATH)
            .with_context(|| format!("linux.readonlyPaths[{i}] ({p})"))?;
        remount(
            &resolve::fd_path(&new),
            MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY,
        )
        .with_context(|| format!("linux.readonlyPaths[{i}] ({p}): read-only remount"))?;
    }
    Ok(())
}
