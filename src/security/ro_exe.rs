//! CVE-2019-5736 without a race: a hull process that enters a container where exe_view says the
//! container may reach it runs its binary from a read-only view of it, so that a handle a
//! container obtains through /proc/<pid>/exe (of hull, or of hull reached through a swapped
//! `#!` chain, ELF interpreter or binfmt_misc) can never be opened for writing (EROFS), neither
//! while hull runs nor after.
//!
//! The view is a detached read-only bind mount of the binary itself (open_tree +
//! mount_setattr), and hull re-executes itself once through it (execveat of the mount's fd):
//! no copy of the binary (runc's memfd copy costs megabytes per container). A binary that is
//! already on a read-only mount (an installation that bind-mounts it read-only once) skips the
//! re-exec: one open and one fstatvfs.

use anyhow::{Context, Result};
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::Mode;
use nix::sys::statvfs::{FsFlags, fstatvfs};
use std::ffi::CString;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

/// Returns when the running binary is on a read-only mount; otherwise re-executes hull from a
/// read-only view of itself (and so does not return), or returns the reason it cannot.
pub fn ensure() -> Result<()> {
    let exe = nix::fcntl::open(
        "/proc/self/exe",
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("opening /proc/self/exe")?;
    let vfs = fstatvfs(exe.as_fd()).context("fstatvfs of /proc/self/exe")?;
    if vfs.flags().contains(FsFlags::ST_RDONLY) {
        return Ok(());
    }
    drop(exe);
    let view =
        crate::sys::mount_api::open_tree_clone(std::path::Path::new("/proc/self/exe"), false)
            .context("open_tree of /proc/self/exe")?;
    crate::sys::mount_api::set_readonly(view.as_fd())
        .context("making the view of the binary read-only")?;
    let argv: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .context("an argument contains NUL")?;
    let envp: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv)
        })
        .collect::<Result<_, _>>()
        .context("an environment variable contains NUL")?;
    // The fd is close-on-exec: the mount lives on as the new image's executable only.
    let Err(e) = nix::unistd::execveat(view.as_fd(), c"", &argv, &envp, AtFlags::AT_EMPTY_PATH);
    Err(e).context("re-executing from the read-only view")
}
