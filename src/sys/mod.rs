//! The only module with `unsafe`: thin wrappers of the syscalls that nix does not cover.
//! Each wrapper keeps the kernel's semantics and returns `nix::Result`.

pub mod bpf;
pub mod keyring;
pub mod mount_api;
pub mod seccomp;

use nix::errno::Errno;
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// `struct clone_args` from <linux/sched.h> (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

pub const CLONE_PIDFD: u64 = 0x1000;
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// What `clone3` returned in the process that called it.
pub enum Forked {
    Parent { pid: Pid, pidfd: OwnedFd },
    Child,
}

/// fork-like `clone3` (no CLONE_VM, so the child gets a copy-on-write address space and runs on
/// the caller's stack), with a pidfd and optionally born into a cgroup.
///
/// hull is single-threaded when it calls this, which is what makes running Rust code in the
/// child after the fork sound (no lock can be held by another thread).
pub fn clone3(ns_flags: u64, cgroup: Option<BorrowedFd>) -> nix::Result<Forked> {
    let mut pidfd: RawFd = -1;
    let mut args = CloneArgs {
        flags: ns_flags | CLONE_PIDFD,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: `args` is a valid, fully initialised clone_args of the size we pass; `pidfd`
    // outlives the call. Without CLONE_VM and with a zero stack the kernel duplicates the
    // address space like fork(2), so both returns continue on their own copy of this frame.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    let ret = Errno::result(ret)?;
    if ret == 0 {
        return Ok(Forked::Child);
    }
    // SAFETY: with CLONE_PIDFD the kernel stored a new, owned file descriptor in `pidfd`.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    Ok(Forked::Parent {
        pid: Pid::from_raw(ret as i32),
        pidfd,
    })
}

/// `pidfd_open(2)`.
pub fn pidfd_open(pid: Pid) -> nix::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    let fd = Errno::result(ret)? as RawFd;
    // SAFETY: on success the kernel returned a new fd that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `pidfd_send_signal(2)`: a signal that can never reach a recycled pid.
pub fn pidfd_send_signal(pidfd: BorrowedFd, sig: i32) -> nix::Result<()> {
    // SAFETY: plain syscall; a null siginfo is allowed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    Errno::result(ret).map(drop)
}

const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

/// Marks every fd from `first` up as close-on-exec (`close_range(2)` with CLOSE_RANGE_CLOEXEC).
pub fn cloexec_from(first: u32) -> nix::Result<()> {
    // SAFETY: plain syscall with integer arguments; it only changes fd flags.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    Errno::result(ret).map(drop)
}

/// Clears FD_CLOEXEC on `fd` (`fcntl(F_SETFD, 0)`), for an fd that must survive one execve.
pub fn clear_cloexec(fd: RawFd) -> nix::Result<()> {
    // SAFETY: plain fcntl with integer arguments; it only changes the fd's flags (a closed fd
    // fails with EBADF).
    let ret = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    Errno::result(ret).map(drop)
}

/// Closes every fd from `first` to `last` (`close_range(2)` without flags).
pub fn close_range(first: u32, last: u32) -> nix::Result<()> {
    // SAFETY: plain syscall with integer arguments. The caller owns the fds of that range and
    // gives up every handle on them (it is about to execve, or to exit).
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
    Errno::result(ret).map(drop)
}

/// Whether the kernel has close_range (5.9): a range above any fd closes nothing.
pub fn has_close_range() -> bool {
    close_range(u32::MAX, u32::MAX).is_ok()
}

const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// The CLONE_NEW* type of a namespace file (`ioctl(NS_GET_NSTYPE)`).
pub fn ns_type(fd: BorrowedFd) -> nix::Result<i32> {
    // SAFETY: NS_GET_NSTYPE takes no argument and returns the type as the result.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE as _) };
    Errno::result(ret)
}

/// `setdomainname(2)`.
pub fn setdomainname(name: &str) -> nix::Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes for the duration of the call.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    Errno::result(ret).map(drop)
}

/// `ioctl(TIOCSCTTY)`: make a terminal the controlling one of this session.
pub fn set_controlling_tty(fd: BorrowedFd) -> nix::Result<()> {
    // SAFETY: TIOCSCTTY takes an int argument (0: do not steal).
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    Errno::result(ret).map(drop)
}

/// `ioctl(TIOCGPTPEER)`: open the peer of a pty master without a path lookup, so a hostile
/// `/dev/pts` cannot substitute another file.
pub fn pty_peer(master: BorrowedFd) -> nix::Result<OwnedFd> {
    const TIOCGPTPEER: libc::c_ulong = 0x5441;
    // SAFETY: TIOCGPTPEER takes open flags and returns a new fd.
    let ret = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            TIOCGPTPEER as _,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    let fd = Errno::result(ret)?;
    // SAFETY: on success the ioctl returned a new fd that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `ioctl(TIOCSWINSZ)`.
pub fn set_winsize(fd: BorrowedFd, rows: u16, cols: u16) -> nix::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: `ws` is a valid winsize for the duration of the call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    Errno::result(ret).map(drop)
}

/// `ioctl(TIOCGWINSZ)`.
pub fn get_winsize(fd: BorrowedFd) -> nix::Result<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: `ws` is a valid, writable winsize for the duration of the call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    Errno::result(ret)?;
    Ok((ws.ws_row, ws.ws_col))
}

/// Sets IFF_UP on the network interface `name` (SIOCGIFFLAGS, then SIOCSIFFLAGS), through any
/// socket `sock` of the interface's network namespace.
pub fn set_link_up(sock: BorrowedFd, name: &str) -> nix::Result<()> {
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= req.ifr_name.len() {
        return Err(Errno::EINVAL);
    }
    for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: `req` is a valid, writable ifreq with a NUL-terminated name for both calls; the
    // kernel reads and writes only its flags member.
    unsafe {
        Errno::result(libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req))?;
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        Errno::result(libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req))?;
    }
    Ok(())
}

/// `_exit(2)`: leave a forked child without running the parent's atexit handlers or
/// flushing buffers that belong to the parent.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and is async-signal-safe.
    unsafe { libc::_exit(code) }
}

/// `ioctl(TIOCSPTLCK, 0)`: unlock a pty master's peer (what unlockpt(3) does).
pub fn unlockpt(master: BorrowedFd) -> nix::Result<()> {
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int through the pointer, which is valid for the call.
    let ret = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) };
    Errno::result(ret).map(drop)
}

/// Restores a signal's default disposition.
pub fn default_signal(sig: nix::sys::signal::Signal) -> nix::Result<()> {
    // SAFETY: SIG_DFL installs no handler code, so no async-signal-safety contract applies.
    unsafe { nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::SigDfl) }.map(drop)
}

/// Receives one message carrying a file descriptor (SCM_RIGHTS), as sent to a console socket.
/// None when the peer closed the socket without sending one; fds beyond the first are closed.
pub fn recv_fd(sock: BorrowedFd) -> nix::Result<Option<OwnedFd>> {
    let mut buf = [0u8; 4096];
    let (_, fds) = recv_with_fds(sock, &mut buf)?;
    Ok(fds.into_iter().next())
}

/// The pid (in our pid namespace) of the process behind `pidfd`, from its fdinfo.
pub fn pidfd_pid(pidfd: BorrowedFd) -> anyhow::Result<Pid> {
    use anyhow::Context;
    let path = format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd());
    let info = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|v| v.trim().parse::<i32>().ok())
        .filter(|p| *p > 0)
        .map(Pid::from_raw)
        .with_context(|| format!("{path} names no live process"))
}

/// Receives one message into `buf` with the file descriptors (SCM_RIGHTS) that came with it,
/// close-on-exec. Returns the number of bytes (0: the peer has gone) and the fds.
pub fn recv_with_fds(sock: BorrowedFd, buf: &mut [u8]) -> nix::Result<(usize, Vec<OwnedFd>)> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
    let msg = loop {
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(Errno::EINTR) => continue,
            r => break r?,
        }
    };
    let mut fds = Vec::new();
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(raw) = c {
            // SAFETY: SCM_RIGHTS installed these fds in our table for us; each is owned once.
            fds.extend(raw.iter().map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) }));
        }
    }
    if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
        return Err(Errno::EMSGSIZE);
    }
    Ok((msg.bytes, fds))
}

/// The most fds one sync message carries (the kernel's SCM_MAX_FD is 253).
pub const MAX_FDS: usize = 253;

/// Whether the running kernel knows a SECCOMP_SET_MODE_FILTER flag, probed as runc does: with
/// no filter given, a known flag fails with EFAULT (reading the filter), an unknown one with
/// EINVAL. Nothing is installed either way.
pub fn seccomp_flag_known(flag: u32) -> bool {
    const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
    // SAFETY: a null filter pointer is never dereferenced by us; the kernel reports EFAULT.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flag as libc::c_ulong,
            std::ptr::null::<libc::c_void>(),
        )
    };
    ret == -1 && Errno::last() == Errno::EFAULT
}

/// Turns off the backtrace that every `anyhow::Error` captures when RUST_BACKTRACE or
/// RUST_LIB_BACKTRACE is set in the caller's environment: hull never prints one (its errors are
/// one line), and capturing one for each error made and handled on the way multiplied the work
/// of a `create` by ten. std decides once per process and caches the answer, so the variable
/// is set only for that first look and then restored for the processes hull starts.
#[cfg_attr(test, allow(dead_code))]
pub fn no_error_backtraces() {
    const VAR: &str = "RUST_LIB_BACKTRACE";
    if std::env::var_os("RUST_BACKTRACE").is_none() && std::env::var_os(VAR).is_none() {
        return;
    }
    let saved = std::env::var_os(VAR);
    // SAFETY: called first thing at entry, before hull starts any thread, so nothing reads the
    // environment concurrently.
    unsafe { std::env::set_var(VAR, "0") };
    drop(std::backtrace::Backtrace::capture());
    // SAFETY: as above.
    unsafe {
        match saved {
            Some(v) => std::env::set_var(VAR, v),
            None => std::env::remove_var(VAR),
        }
    }
}

/// Ignores SIGPIPE (what Rust's runtime does before `main`, which hull skips).
#[cfg_attr(test, allow(dead_code))]
pub fn ignore_sigpipe() -> nix::Result<()> {
    // SAFETY: SIG_IGN installs no handler code, so no async-signal-safety contract applies.
    unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigIgn,
        )
    }
    .map(drop)
}

#[cfg(not(test))]
pub mod entry {
    /// The C entry point. glibc still hands argc/argv to Rust's std (through .init_array), so
    /// std::env::args works; only Rust's own runtime set-up is skipped.
    // SAFETY: hull defines no other `main` symbol (the crate is `#![no_main]`).
    #[unsafe(no_mangle)]
    pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
        crate::run()
    }
}

/// `ioprio_set(IOPRIO_WHO_PROCESS, 0, prio)`: the calling process's I/O priority.
pub fn ioprio_set_self(prio: u32) -> nix::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    // SAFETY: integer arguments only.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0,
            prio as libc::c_long,
        )
    };
    Errno::result(ret).map(drop)
}

/// The kernel's `struct sched_attr` (sched_setattr(2)), version 1 (with the util clamps).
#[repr(C)]
#[derive(Default)]
pub struct SchedAttr {
    pub size: u32,
    pub sched_policy: u32,
    pub sched_flags: u64,
    pub sched_nice: i32,
    pub sched_priority: u32,
    pub sched_runtime: u64,
    pub sched_deadline: u64,
    pub sched_period: u64,
    pub sched_util_min: u32,
    pub sched_util_max: u32,
}

/// `sched_setattr(0, attr, 0)`: the calling thread's scheduling policy and attributes.
pub fn sched_setattr_self(attr: &mut SchedAttr) -> nix::Result<()> {
    attr.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: `attr` is a valid, initialised sched_attr whose size field says how big it is.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, attr as *mut SchedAttr, 0) };
    Errno::result(ret).map(drop)
}

/// `personality(2)`: sets the execution domain; returns the previous one.
pub fn set_personality(persona: u64) -> nix::Result<i32> {
    // SAFETY: integer argument only.
    let ret = unsafe { libc::personality(persona as libc::c_ulong) };
    Errno::result(ret)
}

/// `set_mempolicy(mode, nodemask, maxnode)`: the calling thread's NUMA memory policy.
pub fn set_mempolicy(mode: i32, nodemask: &[libc::c_ulong]) -> nix::Result<()> {
    let (ptr, maxnode) = if nodemask.is_empty() {
        (std::ptr::null(), 0)
    } else {
        // One more than the bits given: the kernel reads maxnode - 1 bits.
        (
            nodemask.as_ptr(),
            nodemask.len() * libc::c_ulong::BITS as usize + 1,
        )
    };
    // SAFETY: `ptr` is null or points at `nodemask`, which holds maxnode - 1 bits.
    let ret = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) };
    Errno::result(ret).map(drop)
}
