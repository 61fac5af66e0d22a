//! The last steps before execve: rlimits, cwd, program lookup, and a clean signal state.

use anyhow::{Context, Result, bail};
use nix::fcntl::OFlag;
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::stat::Mode;
use nix::unistd::{AccessFlags, access};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType, Process};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub fn resource(t: PosixRlimitType) -> Resource {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => Resource::RLIMIT_CPU,
        RlimitFsize => Resource::RLIMIT_FSIZE,
        RlimitData => Resource::RLIMIT_DATA,
        RlimitStack => Resource::RLIMIT_STACK,
        RlimitCore => Resource::RLIMIT_CORE,
        RlimitRss => Resource::RLIMIT_RSS,
        RlimitNproc => Resource::RLIMIT_NPROC,
        RlimitNofile => Resource::RLIMIT_NOFILE,
        RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        RlimitAs => Resource::RLIMIT_AS,
        RlimitLocks => Resource::RLIMIT_LOCKS,
        RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        RlimitNice => Resource::RLIMIT_NICE,
        RlimitRtprio => Resource::RLIMIT_RTPRIO,
        RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

pub fn set_rlimits(rlimits: &[PosixRlimit]) -> Result<()> {
    for (i, rl) in rlimits.iter().enumerate() {
        setrlimit(resource(rl.typ()), rl.soft(), rl.hard()).with_context(|| {
            format!(
                "process.rlimits[{i}]: setting {} to soft {} hard {}",
                rl.typ(),
                rl.soft(),
                rl.hard()
            )
        })?;
    }
    Ok(())
}

/// chdir to process.cwd and check that the kernel sees it inside the root: getcwd of a
/// directory outside the root (reached through a leaked fd, CVE-2024-21626) does not start
/// with `/`.
pub fn enter_cwd(cwd: &Path) -> Result<()> {
    nix::unistd::chdir(cwd).with_context(|| format!("process.cwd: chdir to {}", cwd.display()))?;
    let real = nix::unistd::getcwd().context("process.cwd: getcwd")?;
    if !real.is_absolute() || real.to_string_lossy().starts_with("(unreachable)") {
        bail!(
            "process.cwd: {} resolves outside the container's root",
            cwd.display()
        );
    }
    Ok(())
}

/// The PATH args[0] is looked up in when process.env sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Finds args[0] as execvp would, in the container's PATH (from process.env).
pub fn find_program(p: &Process) -> Result<CString> {
    let arg0 = p
        .args()
        .as_ref()
        .and_then(|a| a.first())
        .context("process.args: empty")?;
    let found = if arg0.contains('/') {
        let path = PathBuf::from(arg0);
        executable(&path).then_some(path)
    } else {
        let path_var = p
            .env()
            .iter()
            .flatten()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        path_var
            .split(':')
            .map(|d| Path::new(if d.is_empty() { "." } else { d }).join(arg0))
            .find(|c| executable(c))
    };
    let path = found.with_context(|| {
        format!("process.args[0]: {arg0:?}: executable file not found in $PATH")
    })?;
    CString::new(path.into_os_string().into_encoded_bytes())
        .context("process.args[0]: contains NUL")
}

/// An O_PATH fd of `/` as this process sees it: the container's root, once it is entered.
pub fn open_root() -> Result<std::os::fd::OwnedFd> {
    nix::fcntl::open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("opening the container's root")
}

/// Refuses a program path that leaves the container's root or passes through a magic link
/// (/proc/self/fd/N/.., /proc/<pid>/root: CVE-2024-21626): the kernel's own lookup at execve
/// would follow them, openat2's RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS does not.
pub fn check_in_root(program: &CStr) -> Result<()> {
    let path = Path::new(std::ffi::OsStr::from_bytes(program.to_bytes()));
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        nix::unistd::getcwd()
            .context("process.args[0]: getcwd")?
            .join(path)
    };
    let root = open_root()?;
    let resolved = crate::rootfs::resolve::open(root.as_fd(), &abs, OFlag::O_PATH)
        .with_context(|| {
            format!(
                "process.args[0]: {} does not resolve inside the container's root without magic links (CVE-2024-21626)",
                path.display()
            )
        })?;
    let plain = nix::sys::stat::fstat(resolved.as_fd()).context("process.args[0]: fstat")?;
    let kernel = nix::sys::stat::stat(path).context("process.args[0]: stat")?;
    if (plain.st_dev, plain.st_ino) != (kernel.st_dev, kernel.st_ino) {
        bail!(
            "process.args[0]: {} resolves outside the container's root (CVE-2024-21626)",
            path.display()
        );
    }
    Ok(())
}

/// The highest open fd, read through the host's procfs `proc` (before any seccomp filter may
/// forbid it): the bound of `close_fds`'s fallback.
pub fn highest_fd(proc: BorrowedFd) -> Result<RawFd> {
    let mut dir = nix::dir::Dir::openat(
        proc,
        "self/fd",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("listing our fds")?;
    Ok(dir
        .iter()
        .flatten()
        .filter_map(|e| e.file_name().to_str().ok()?.parse::<RawFd>().ok())
        .max()
        .unwrap_or(2))
}

/// Closes every fd from `first` up but those in `keep` (which must be close-on-exec and no
/// directory: a fifo or a socket, that nothing can walk from). Close-on-exec alone is not
/// enough: execve looks up its path before it closes them, and /proc/self/fd/N/.. would walk
/// out of the container (CVE-2024-21626). close_range, or close() one by one up to `ceiling`
/// where a seccomp filter or an old kernel refuses close_range. Without a ceiling (close_range
/// was expected to work) the fallback goes up to the fd limit.
pub fn close_fds(first: RawFd, keep: &[RawFd], ceiling: Option<RawFd>) {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|&k| k >= first).collect();
    keep.sort_unstable();
    let ceiling = || ceiling.unwrap_or_else(fd_limit);
    let mut lo = first;
    for hi in keep.iter().map(|k| Some(k - 1)).chain([None]) {
        let last = hi.map_or(u32::MAX, |h| h as u32);
        if hi.is_none_or(|h| h >= lo) && crate::sys::close_range(lo as u32, last).is_err() {
            let top = ceiling();
            let end = hi.unwrap_or(top).min(top.max(lo));
            for fd in lo..=end {
                let _ = nix::unistd::close(fd);
            }
        }
        lo = hi.map_or(lo, |h| h + 2);
    }
}

/// The highest fd number the process may have: its hard RLIMIT_NOFILE (an fd opened before a
/// lower limit was set stays below the hard limit it had), bounded so that the loop ends.
fn fd_limit() -> RawFd {
    let hard = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(1 << 20, |(_, hard)| hard);
    hard.min(1 << 20) as RawFd
}

fn executable(p: &Path) -> bool {
    p.metadata().is_ok_and(|m| m.is_file()) && access(p, AccessFlags::X_OK).is_ok()
}

pub fn cstrings(v: &[String], field: &str) -> Result<Vec<CString>> {
    v.iter()
        .enumerate()
        .map(|(i, s)| {
            CString::new(s.as_bytes()).with_context(|| format!("{field}[{i}]: contains NUL"))
        })
        .collect()
}

/// Rust's runtime ignores SIGPIPE, and run's signal relay blocks signals; an ignored or
/// blocked signal survives execve, so give the container a default signal state.
pub fn reset_signals() -> Result<()> {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
    crate::sys::default_signal(Signal::SIGPIPE).context("resetting SIGPIPE")?;
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
        .context("clearing the signal mask")?;
    Ok(())
}
