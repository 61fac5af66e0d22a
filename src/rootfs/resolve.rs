//! Path resolution inside the untrusted rootfs.
//!
//! Every lookup goes through openat2(RESOLVE_IN_ROOT): `..` and absolute symlinks are clamped to
//! the rootfs, so a hostile image cannot point a mount or a device node at the host
//! (CVE-2019-19921, CVE-2021-30465, CVE-2024-45310). Magic links (/proc/self/...) are refused
//! outright. The result is an O_PATH fd, and the kernel is then asked to mount onto that fd via
//! /proc/self/fd/N, so the path is never looked up twice.

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::{Mode, mkdirat};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

fn how(flags: OFlag) -> OpenHow {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    // openat2 refuses a mode unless it creates a file.
    if flags.contains(OFlag::O_CREAT) {
        how.mode(Mode::from_bits_truncate(0o644))
    } else {
        how
    }
}

/// `path` without its leading `/`, for use relative to the root fd.
fn relative(path: &Path) -> PathBuf {
    let rel: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::RootDir | Component::Prefix(_)))
        .collect();
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}

/// Opens a container path inside `root`.
pub fn open(root: BorrowedFd, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    loop {
        match openat2(root, &relative(path), how(flags)) {
            // openat2 asks for a retry when a rename raced with resolution.
            Err(Errno::EAGAIN) => continue,
            other => return other,
        }
    }
}

/// Creates every missing directory of `path` inside `root` and returns an O_PATH fd of it.
pub fn mkdir_all(root: BorrowedFd, path: &Path) -> Result<OwnedFd> {
    mkdir_all_at_depth(root, path, 0)
}

/// Symlinks followed while creating directories, as in path resolution (ELOOP past it).
const MAX_SYMLINKS: u32 = 40;

fn mkdir_all_at_depth(root: BorrowedFd, path: &Path, depth: u32) -> Result<OwnedFd> {
    if depth > MAX_SYMLINKS {
        bail!("too many levels of symbolic links under {}", path.display());
    }
    let mut cur = PathBuf::new();
    let mut fd = open(root, Path::new("."), OFlag::O_PATH | OFlag::O_DIRECTORY)
        .context("opening the rootfs")?;
    for comp in relative(path).components() {
        let Component::Normal(name) = comp else {
            cur.push(comp);
            continue;
        };
        cur.push(name);
        fd = match open(root, &cur, OFlag::O_PATH | OFlag::O_DIRECTORY) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                let parent = cur.parent().unwrap_or(Path::new("."));
                let pfd = open(root, parent, OFlag::O_PATH | OFlag::O_DIRECTORY)
                    .with_context(|| format!("opening {}", parent.display()))?;
                match mkdirat(pfd.as_fd(), name, Mode::from_bits_truncate(0o755)) {
                    Ok(()) => {}
                    // A dangling symlink: create its target, inside the root like every other
                    // lookup here, as runc does.
                    Err(Errno::EEXIST) => {
                        if let Ok(target) = nix::fcntl::readlinkat(pfd.as_fd(), name) {
                            let target = Path::new(&target);
                            let next = if target.is_absolute() {
                                target.to_path_buf()
                            } else {
                                Path::new("/").join(parent).join(target)
                            };
                            mkdir_all_at_depth(root, &next, depth + 1)?;
                        }
                    }
                    Err(e) => {
                        return Err(e).with_context(|| format!("creating /{}", cur.display()));
                    }
                }
                open(root, &cur, OFlag::O_PATH | OFlag::O_DIRECTORY)
                    .with_context(|| format!("opening /{} after creating it", cur.display()))?
            }
            Err(Errno::ENOTDIR) => bail!("/{} exists and is not a directory", cur.display()),
            Err(e) => return Err(e).with_context(|| format!("opening /{}", cur.display())),
        };
    }
    Ok(fd)
}

/// Creates (if missing) the file `path` inside `root`, with its parent directories, and returns
/// an O_PATH fd of it: the destination of a file bind mount.
pub fn mkfile(root: BorrowedFd, path: &Path) -> Result<OwnedFd> {
    if let Ok(fd) = open(root, path, OFlag::O_PATH) {
        return Ok(fd);
    }
    let rel = relative(path);
    if let Some(parent) = rel.parent() {
        mkdir_all(root, parent)?;
    }
    let fd = open(root, path, OFlag::O_CREAT | OFlag::O_WRONLY)
        .with_context(|| format!("creating {}", path.display()))?;
    drop(fd);
    open(root, path, OFlag::O_PATH).with_context(|| format!("opening {}", path.display()))
}

/// Creates `path` inside `root` as a new empty file that hull owns, whatever the image had
/// there (a symlink, a file, a device node is removed first; a directory is refused), and
/// returns it open: the target of a bind mount that must land exactly there (/dev/console, a
/// device node bound from the host). O_EXCL | O_NOFOLLOW: a symlink put back in between makes
/// it fail rather than be followed.
pub fn fresh_file(root: BorrowedFd, path: &Path) -> Result<OwnedFd> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    let dir = mkdir_all(root, parent)?;
    match nix::unistd::unlinkat(dir.as_fd(), name, nix::unistd::UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(Errno::EISDIR) => bail!("{} is a directory in the rootfs", path.display()),
        Err(e) => {
            return Err(e).with_context(|| format!("removing the image's {}", path.display()));
        }
    }
    nix::fcntl::openat(
        dir.as_fd(),
        name,
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    )
    .with_context(|| format!("creating {}", path.display()))
}

/// Reads the regular file `path` inside `root`, at most `cap` bytes: None if it does not exist.
/// Non-blocking and regular files only, so that an image's FIFO cannot hang the runtime and a
/// symlink to /dev/zero cannot exhaust its memory.
pub fn read_regular(root: BorrowedFd, path: &Path, cap: u64) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let fd = match open(
        root,
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
    ) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let st = nix::sys::stat::fstat(&fd).with_context(|| format!("fstat {}", path.display()))?;
    if nix::sys::stat::SFlag::from_bits_truncate(st.st_mode) & nix::sys::stat::SFlag::S_IFMT
        != nix::sys::stat::SFlag::S_IFREG
    {
        bail!("{} is not a regular file", path.display());
    }
    let mut buf = Vec::new();
    std::fs::File::from(fd)
        .take(cap + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("reading {}", path.display()))?;
    if buf.len() as u64 > cap {
        bail!("{} is larger than {cap} bytes", path.display());
    }
    Ok(Some(buf))
}

/// The /proc/self/fd path through which the kernel reaches exactly the file `fd` refers to.
/// Valid only while the host's /proc is this process's /proc (before pivot_root).
pub fn fd_path(fd: &impl AsRawFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}
