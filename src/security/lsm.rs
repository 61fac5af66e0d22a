//! process.apparmorProfile, process.selinuxLabel and linux.mountLabel.
//!
//! The exec labels are written to /proc/thread-self/attr/... through the host's procfs captured
//! before pivot_root (HostView): after it, the container's /proc may be a bind mount of anything
//! (CVE-2019-16884 redirected exactly this write). The kernel applies them at execve.

use super::HostView;
use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use oci_spec::runtime::{Linux, Process};
use std::os::fd::AsFd;

pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

pub fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// Checks on the host, before anything is built: a requested AppArmor profile on a host without
/// AppArmor is an error; SELinux labels on a host without SELinux are ignored with a warning
/// (runc's behaviour, which the conformance tests expect). Returns whether to apply each.
pub struct Plan {
    apparmor: Option<String>,
    selinux: Option<String>,
}

pub fn plan(process: &Process, linux: Option<&Linux>) -> Result<Plan> {
    let apparmor = process.apparmor_profile().clone().filter(|p| !p.is_empty());
    if let Some(p) = &apparmor
        && !apparmor_enabled()
    {
        bail!(
            "process.apparmorProfile: {p:?} was requested, but AppArmor is not enabled on this host"
        );
    }
    let selinux_on = selinux_enabled();
    let mut selinux = process.selinux_label().clone().filter(|l| !l.is_empty());
    if let Some(l) = &selinux
        && !selinux_on
    {
        crate::logging::warn(&format!(
            "process.selinuxLabel: SELinux is disabled on this host; ignoring {l:?}"
        ));
        selinux = None;
    }
    if let Some(l) = linux
        .and_then(|l| l.mount_label().as_deref())
        .filter(|l| !l.is_empty())
    {
        if selinux_on {
            bail!("linux.mountLabel: {l:?}: mount labels are not supported by hull yet");
        }
        crate::logging::warn(&format!(
            "linux.mountLabel: SELinux is disabled on this host; ignoring {l:?}"
        ));
    }
    Ok(Plan { apparmor, selinux })
}

impl Plan {
    /// Sets the exec labels. Open and write happen together: the kernel only accepts a write
    /// from the credentials that opened the file, and the user switch changes them.
    pub fn apply(&self, host: &HostView) -> Result<()> {
        if let Some(p) = &self.apparmor {
            let data = format!("exec {p}");
            match write_attr(host, "apparmor/exec", &data) {
                // Kernels before 5.1 only have the shared attr/exec.
                Err(Errno::ENOENT) => write_attr(host, "exec", &data),
                r => r,
            }
            .with_context(|| format!("process.apparmorProfile: applying {p:?}"))?;
        }
        if let Some(l) = &self.selinux {
            write_attr(host, "exec", l)
                .with_context(|| format!("process.selinuxLabel: applying {l:?}"))?;
        }
        Ok(())
    }
}

fn write_attr(host: &HostView, attr: &str, data: &str) -> nix::Result<()> {
    // thread-self is a plain relative symlink inside procfs; nothing may lead out of it.
    let how = OpenHow::new()
        .flags(OFlag::O_WRONLY | OFlag::O_CLOEXEC)
        .resolve(
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_MAGICLINKS
                | ResolveFlag::RESOLVE_NO_XDEV,
        );
    let fd = openat2(
        host.proc.as_fd(),
        format!("thread-self/attr/{attr}").as_str(),
        how,
    )?;
    let n = nix::unistd::write(&fd, data.as_bytes())?;
    if n != data.len() {
        return Err(Errno::EIO);
    }
    Ok(())
}
