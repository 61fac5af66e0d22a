//! Session keyrings (keyctl(2)), which nix does not wrap: each container gets its own, as with
//! runc and crun, so that it never shares the caller's keys.

use nix::errno::Errno;
use std::ffi::CString;

const KEYCTL_JOIN_SESSION_KEYRING: libc::c_int = 1;
const KEYCTL_SETPERM: libc::c_int = 5;
const KEYCTL_DESCRIBE: libc::c_int = 6;

/// Replaces this process's session keyring with the one named `name`, created if no keyring
/// of that name is searchable by us. Returns its serial number.
pub fn join_session_keyring(name: &str) -> nix::Result<i32> {
    let c = CString::new(name).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call; the kernel only reads it.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, c.as_ptr()) };
    Errno::result(r).map(|s| s as i32)
}

/// Adds the permission bits `bits` (KEY_{POS,USR,GRP,OTH}_*) to key `serial`.
pub fn add_key_perm(serial: i32, bits: u32) -> nix::Result<()> {
    let mut buf = [0u8; 512];
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, which is valid and
    // exclusively borrowed for the call.
    let n = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_DESCRIBE,
            serial,
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    let n = Errno::result(n)? as usize;
    // "type;uid;gid;perm;description", perm in hex.
    let text = std::str::from_utf8(&buf[..n.min(buf.len())]).map_err(|_| Errno::EINVAL)?;
    let perm = text
        .split(';')
        .nth(3)
        .and_then(|p| u32::from_str_radix(p, 16).ok())
        .ok_or(Errno::EINVAL)?;
    // SAFETY: KEYCTL_SETPERM takes two integers; no memory is shared with the kernel.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SETPERM, serial, perm | bits) };
    Errno::result(r).map(drop)
}
