//! The new mount API (open_tree, mount_setattr, move_mount), which nix does not cover: idmapped
//! mounts are built detached by `create` and attached by the init.

use nix::errno::Errno;
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOUNT_ATTR_RDONLY: u64 = 0x0000_0001;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

/// `struct mount_attr` from <linux/mount.h> (MOUNT_ATTR_SIZE_VER0).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// A detached copy of the mount at `path` (of the whole tree below it with `recursive`), as a
/// bind mount would make it, close-on-exec.
pub fn open_tree_clone(path: &Path, recursive: bool) -> nix::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: `c` is a NUL-terminated path that outlives the call; the kernel returns a new fd
    // that nothing else owns.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c.as_ptr(), flags) };
    let fd = Errno::result(fd)?;
    // SAFETY: a successful open_tree returns a new open fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// Makes the detached mount `mnt` read-only.
pub fn set_readonly(mnt: BorrowedFd) -> nix::Result<()> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    mount_setattr(mnt, false, &attr)
}

/// Idmaps the detached mount `mnt` (and the mounts below it with `recursive`) through the user
/// namespace `userns`.
pub fn set_idmap(mnt: BorrowedFd, userns: BorrowedFd, recursive: bool) -> nix::Result<()> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    mount_setattr(mnt, recursive, &attr)
}

/// Sets and clears MOUNT_ATTR_* bits on the mount at `mnt` and every mount below it.
pub fn set_recursive_attrs(mnt: BorrowedFd, set: u64, clear: u64) -> nix::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clear,
        propagation: 0,
        userns_fd: 0,
    };
    mount_setattr(mnt, true, &attr)
}

/// mount_setattr(2) on the mount `mnt` refers to (and the mounts below it with `recursive`).
fn mount_setattr(mnt: BorrowedFd, recursive: bool, attr: &MountAttr) -> nix::Result<()> {
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: `attr` is a valid mount_attr of the size passed, read by the kernel during the
    // call; the empty path with AT_EMPTY_PATH names the mount `mnt` refers to.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(r).map(drop)
}

/// Attaches the detached mount `mnt` on top of the directory or file `target` (an O_PATH fd).
pub fn move_mount_onto(mnt: BorrowedFd, target: BorrowedFd) -> nix::Result<()> {
    // SAFETY: both paths are empty NUL-terminated strings naming the fds themselves.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            target.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    Errno::result(r).map(drop)
}
