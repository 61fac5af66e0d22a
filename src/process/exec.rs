//! The last steps before execve: rlimits, cwd, program lookup, and a clean signal state.

use anyhow::{Context, Result, bail};
use nix::sys::resource::{Resource, setrlimit};
use nix::unistd::{AccessFlags, access};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType, Process};
use std::ffi::CString;
use std::path::{Path, PathBuf};

fn resource(t: PosixRlimitType) -> Resource {
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
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
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
