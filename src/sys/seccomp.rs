//! `seccomp(2)` for a program compiled ahead of time (by libseccomp, possibly read back from the
//! cache), so that loading it in the container's init is one syscall and no libseccomp state.

use nix::errno::Errno;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
const SECCOMP_GET_ACTION_AVAIL: libc::c_uint = 2;

/// The kernel's SECCOMP_RET_* value of each action (<linux/seccomp.h>).
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_KILL_THREAD: u32 = 0;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

/// Whether this kernel knows the filter return action `ret` (SECCOMP_GET_ACTION_AVAIL, 4.14).
pub fn action_available(ret: u32) -> bool {
    // SAFETY: the kernel reads one u32 through the pointer, which points at a live local.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_ACTION_AVAIL,
            0 as libc::c_uint,
            &ret as *const u32,
        )
    };
    r == 0
}

pub const FLAG_TSYNC: u32 = 1 << 0;
pub const FLAG_LOG: u32 = 1 << 1;
pub const FLAG_SPEC_ALLOW: u32 = 1 << 2;
pub const FLAG_NEW_LISTENER: u32 = 1 << 3;
pub const FLAG_WAIT_KILLABLE_RECV: u32 = 1 << 5;

/// One classic-BPF instruction, `struct sock_filter` from <linux/filter.h>.
pub type Insn = libc::sock_filter;

/// Decodes libseccomp's exported program (an array of native-endian `struct sock_filter`).
/// None if the length is not a whole number of instructions.
pub fn decode(bytes: &[u8]) -> Option<Vec<Insn>> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(8) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| libc::sock_filter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect(),
    )
}

/// The inverse of `decode`: the program as native-endian `struct sock_filter` bytes.
pub fn encode(prog: &[Insn]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prog.len() * 8);
    for i in prog {
        out.extend_from_slice(&i.code.to_ne_bytes());
        out.extend_from_slice(&[i.jt, i.jf]);
        out.extend_from_slice(&i.k.to_ne_bytes());
    }
    out
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`. With FLAG_NEW_LISTENER the kernel returns
/// the notification fd (close-on-exec), which is handed back.
pub fn set_mode_filter(prog: &[Insn], flags: u32) -> nix::Result<Option<OwnedFd>> {
    let len = u16::try_from(prog.len()).map_err(|_| Errno::E2BIG)?;
    let fprog = libc::sock_fprog {
        len,
        // The kernel only reads through this pointer (it copies the program in).
        filter: prog.as_ptr() as *mut Insn,
    };
    // SAFETY: `fprog` points at `prog`, which holds `len` initialised instructions and outlives
    // the call; the kernel copies the program before returning.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags as libc::c_uint,
            &fprog as *const libc::sock_fprog,
        )
    };
    let ret = Errno::result(ret)?;
    if flags & FLAG_TSYNC != 0 && flags & FLAG_NEW_LISTENER == 0 && ret != 0 {
        // TSYNC reports the id of a thread that could not be synchronised.
        return Err(Errno::ESRCH);
    }
    if flags & FLAG_NEW_LISTENER != 0 {
        // SAFETY: with SECCOMP_FILTER_FLAG_NEW_LISTENER a successful call returns a new fd that
        // nothing else owns.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as RawFd) }))
    } else {
        Ok(None)
    }
}
