//! What the init must learn about the host before the container's rootfs replaces its view of
//! the filesystem: afterwards every path (/proc included) is the container's and may be forged.

use anyhow::{Context, Result, bail};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::os::fd::OwnedFd;

pub struct HostView {
    /// The init's pid in the host's pid namespace (what `state` and a seccomp listener see).
    pub pid: i32,
    /// (st_dev, st_ino) of the running hull binary, for the CVE-2019-5736 exec check.
    pub exe: (u64, u64),
    /// The host's procfs, verified to be one: LSM attributes are written through it.
    pub proc: OwnedFd,
}

const PROC_ROOT_INO: u64 = 1;

impl HostView {
    /// Must run before the first mount into the rootfs (cost: three syscalls and an open).
    pub fn capture() -> Result<HostView> {
        let proc = nix::fcntl::open(
            "/proc",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .context("opening the host's /proc")?;
        let fs = nix::sys::statfs::fstatfs(&proc).context("fstatfs of the host's /proc")?;
        let st = nix::sys::stat::fstat(&proc).context("fstat of the host's /proc")?;
        if fs.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC || st.st_ino != PROC_ROOT_INO
        {
            bail!("the host's /proc is not the root of a procfs");
        }
        let pid = own_pid(&proc)?;
        let exe = nix::sys::stat::fstatat(&proc, "self/exe", nix::fcntl::AtFlags::empty())
            .context("stat of /proc/self/exe")?;
        Ok(HostView {
            pid,
            exe: (exe.st_dev, exe.st_ino),
            proc,
        })
    }
}

/// The calling process's pid in the pid namespace of the procfs `proc`.
pub fn own_pid(proc: &OwnedFd) -> Result<i32> {
    let link = nix::fcntl::readlinkat(proc, "self").context("readlink /proc/self")?;
    link.to_str()
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("/proc/self points to {link:?}, not a pid"))
}
