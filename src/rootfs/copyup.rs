//! `tmpcopyup` (runc's extension): a tmpfs mounted over an image directory starts with a copy
//! of what that directory held, instead of hiding it.
//!
//! The image is untrusted, so the walk goes through fds only: nothing is followed (symlinks
//! are copied as symlinks), only regular files are opened (a FIFO could block, a device could
//! be endless), and the tmpfs's size bounds what a huge file can take.

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{FchmodatFlags, Mode, SFlag, fchmodat, fstat, fstatat, mkdirat, mknodat};
use nix::unistd::{Gid, Uid, fchownat, symlinkat};
use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Directory depth beyond which the copy gives up (an image cannot make hull recurse forever).
const MAX_DEPTH: usize = 256;

/// Copies the contents of directory `from` into the empty directory `to`, keeping modes,
/// owners and symlinks.
pub fn copy_dir(from: BorrowedFd, to: BorrowedFd) -> Result<()> {
    copy_level(from, to, 0)
}

fn copy_level(from: BorrowedFd, to: BorrowedFd, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        anyhow::bail!("tmpcopyup: the directory tree is deeper than {MAX_DEPTH} levels");
    }
    let listing = openat(
        from,
        c".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("tmpcopyup: opening the image directory")?;
    let mut dir = nix::dir::Dir::from_fd(listing).context("tmpcopyup: listing")?;
    for entry in dir.iter() {
        let entry = entry.context("tmpcopyup: listing")?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        copy_entry(from, to, name, depth)
            .with_context(|| format!("tmpcopyup: copying {}", name.to_string_lossy()))?;
    }
    Ok(())
}

fn copy_entry(from: BorrowedFd, to: BorrowedFd, name: &CStr, depth: usize) -> Result<()> {
    let st = fstatat(from, name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
    let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
    match kind {
        SFlag::S_IFDIR => {
            mkdirat(to, name, Mode::from_bits_truncate(0o700))?;
            let open_dir = |fd: BorrowedFd| {
                openat(
                    fd,
                    name,
                    OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
            };
            let (sub_from, sub_to) = (open_dir(from)?, open_dir(to)?);
            copy_level(sub_from.as_fd(), sub_to.as_fd(), depth + 1)?;
        }
        SFlag::S_IFREG => copy_file(from, to, name)?,
        SFlag::S_IFLNK => {
            let target = readlinkat(from, name)?;
            symlinkat(target.as_os_str(), to, name)?;
        }
        SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO => {
            mknodat(to, name, kind, mode, st.st_rdev)?;
        }
        // Sockets are bound by a process; a copy of one means nothing.
        _ => return Ok(()),
    }
    fchownat(
        to,
        name,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    if kind != SFlag::S_IFLNK {
        // After the chown, which clears setuid and setgid bits.
        fchmodat(to, name, mode, FchmodatFlags::NoFollowSymlink).or_else(|e| match e {
            // Older kernels cannot chmod through AT_SYMLINK_NOFOLLOW; what we made is no link.
            Errno::EOPNOTSUPP | Errno::ENOSYS => {
                fchmodat(to, name, mode, FchmodatFlags::FollowSymlink)
            }
            e => Err(e),
        })?;
    }
    Ok(())
}

fn copy_file(from: BorrowedFd, to: BorrowedFd, name: &CStr) -> Result<()> {
    let src: OwnedFd = openat(
        from,
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // Swapped for something else between the stat and the open: not copied.
    if SFlag::from_bits_truncate(fstat(&src)?.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFREG {
        anyhow::bail!("it changed while being copied");
    }
    let dst: OwnedFd = openat(
        to,
        name,
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    )?;
    std::io::copy(&mut std::fs::File::from(src), &mut std::fs::File::from(dst))?;
    Ok(())
}
