//! CVE-2019-5736: which view of hull's binary the processes that enter a container run from.
//!
//! Threat model. A container process that gets a handle on the host's hull binary through
//! /proc/<pid>/exe can reopen it for writing once it is no longer busy. It gets one (1) when
//! the container's own program is executed from hull's image and reaches /proc/self/exe (a `#!`
//! chain, an ELF interpreter, binfmt_misc, swapped in at any time), or (2) when it can open
//! /proc/<pid>/exe of a hull process: the init and exec'd children are non-dumpable until
//! execve, which leaves only processes with CAP_SYS_PTRACE in hull's user namespace, in a pid
//! namespace where hull's processes are visible.
//!
//! (1) is closed by the exec trampoline (trampoline.rs): the last execve runs from a sealed
//! memfd, never from hull's image. (2), and (1) where the trampoline cannot run, by re-executing
//! hull from a read-only view of its binary (ro_exe.rs, one re-exec and a mount teardown: ~1 ms),
//! decided here from the config before any side effect, so the re-executed hull only redoes
//! the parse. A hull installed on a read-only mount never re-executes.

use super::trampoline::Trampoline;
use anyhow::{Context, Result};
use oci_spec::runtime::{Capability, LinuxNamespaceType, Process, Spec};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// In a container's state dir: an exec was given CAP_SYS_PTRACE in hull's user namespace, so
/// its process may reach hull processes that later execs start there.
const PTRACE_EXEC: &str = "ptrace-exec";

/// For `create` and `run`: re-executes from the read-only view if needed (then does not
/// return), and gives the trampoline when it can run.
pub fn for_create(spec: &Spec) -> Option<Trampoline> {
    let process = spec.process().as_ref();
    let reach = if !own_pid_ns(spec) {
        Some("the container's pid namespace is not its own")
    } else if shares_user_ns_by_config(spec) && process.is_some_and(grants_ptrace) {
        Some("process.capabilities grants CAP_SYS_PTRACE without a user namespace")
    } else {
        None
    };
    settle(reach, spec, process)
}

/// For `exec`: as `for_create`, for `process` exec'd into the container made from `spec`
/// whose init is `init_pid`; records an exec with CAP_SYS_PTRACE in `state_dir`.
pub fn for_exec(
    spec: &Spec,
    process: &Process,
    init_pid: i32,
    state_dir: &Path,
) -> Result<Option<Trampoline>> {
    let mark = state_dir.join(PTRACE_EXEC);
    let shares_user = same_ns(format!("/proc/{init_pid}/ns/user"), "/proc/self/ns/user");
    let ptrace_here = shares_user && grants_ptrace(process);
    let reach = if !own_pid_ns(spec) {
        Some("the container's pid namespace is not its own")
    } else if !shares_user {
        None
    } else if spec.process().as_ref().is_some_and(grants_ptrace) {
        Some("process.capabilities grants CAP_SYS_PTRACE without a user namespace")
    } else if ptrace_here {
        Some("this exec has CAP_SYS_PTRACE without a user namespace")
    } else if mark.exists() {
        Some("an earlier exec had CAP_SYS_PTRACE without a user namespace")
    } else {
        None
    };
    let trampoline = settle(reach, spec, Some(process));
    if ptrace_here {
        // Before the process exists: every later exec must see it.
        std::fs::write(&mark, b"").with_context(|| format!("recording {}", mark.display()))?;
    }
    Ok(trampoline)
}

/// Re-executes from the read-only view when `reach` says so or the trampoline cannot run, and
/// returns the trampoline if it can.
fn settle(reach: Option<&str>, spec: &Spec, process: Option<&Process>) -> Option<Trampoline> {
    let blocked = blocker(spec, process);
    if let Some(why) = reach.or(blocked) {
        read_only(why);
    }
    if blocked.is_some() {
        return None;
    }
    match Trampoline::new() {
        Ok(t) => Some(t),
        Err(e) => {
            let why = format!("no exec trampoline: {e:#}");
            if reach.is_none() {
                read_only(&why);
            }
            crate::logging::debug!("{why}");
            None
        }
    }
}

/// Re-executes hull from the read-only view of its binary unless it already runs from a
/// read-only mount; returns only then, or when the view cannot be made.
fn read_only(why: &str) {
    match super::ro_exe::ensure() {
        Ok(()) => crate::logging::debug!("hull runs from a read-only view of its binary ({why})"),
        // The `#!` check and the non-dumpable init remain.
        Err(e) => crate::logging::debug!("no read-only view of the hull binary ({why}): {e:#}"),
    }
}

/// Why the trampoline cannot be the last exec, if it cannot.
fn blocker(spec: &Spec, process: Option<&Process>) -> Option<&'static str> {
    if let Some(s) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref())
        && !["execveat", "fcntl"]
            .iter()
            .all(|n| super::seccomp::allows_plainly(s, n))
    {
        return Some("linux.seccomp does not plainly allow execveat and fcntl");
    }
    // The kernel applies an exec label at the next execve: it would be the trampoline's.
    let labelled = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.is_empty());
    if process.is_some_and(|p| labelled(p.apparmor_profile()) || labelled(p.selinux_label())) {
        return Some("an LSM exec label applies at the next execve");
    }
    None
}

/// Whether the container makes its own pid namespace (so nothing else runs in it until start).
fn own_pid_ns(spec: &Spec) -> bool {
    namespace(spec, LinuxNamespaceType::Pid).is_some_and(|path| path.is_none())
}

/// Whether the container's processes will be in hull's own user namespace.
fn shares_user_ns_by_config(spec: &Spec) -> bool {
    match namespace(spec, LinuxNamespaceType::User) {
        None => true,
        Some(None) => false,
        Some(Some(path)) => same_ns(path, "/proc/self/ns/user"),
    }
}

/// The namespace entry of type `t`: None when absent, Some(path) when present.
fn namespace(spec: &Spec, t: LinuxNamespaceType) -> Option<Option<&Path>> {
    let nss = spec.linux().as_ref()?.namespaces().as_ref()?;
    let ns = nss.iter().find(|n| n.typ() == t)?;
    Some(ns.path().as_deref())
}

/// Whether two namespace files are the same namespace; yes when in doubt.
fn same_ns(a: impl AsRef<Path>, b: &str) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => true,
    }
}

/// Whether the process may hold CAP_SYS_PTRACE: in any set (a bounding-set capability comes
/// back through a privileged binary), or with no capabilities given (hull's are kept).
fn grants_ptrace(p: &Process) -> bool {
    let Some(c) = p.capabilities() else {
        return true;
    };
    [
        c.bounding(),
        c.effective(),
        c.permitted(),
        c.inheritable(),
        c.ambient(),
    ]
    .iter()
    .any(|set| {
        set.as_ref()
            .is_some_and(|s| s.contains(&Capability::SysPtrace))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> Spec {
        let mut base = serde_json::to_value(Spec::default()).unwrap();
        for (k, val) in v.as_object().unwrap() {
            for (k2, val2) in val.as_object().unwrap() {
                base[k][k2] = val2.clone();
            }
        }
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn reasons_from_the_config() {
        let caps = |c: &[&str]| json!({"bounding": c, "effective": c, "permitted": c});
        let s = spec(
            json!({"process": {"cwd": "/", "capabilities": caps(&["CAP_KILL"])},
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}}),
        );
        assert!(own_pid_ns(&s) && shares_user_ns_by_config(&s));
        assert!(!grants_ptrace(s.process().as_ref().unwrap()));
        assert_eq!(blocker(&s, s.process().as_ref()), None);
        let s = spec(
            json!({"process": {"cwd": "/", "capabilities": caps(&["CAP_SYS_PTRACE"]),
                "apparmorProfile": "p"},
            "linux": {"namespaces": [{"type": "pid", "path": "/proc/1/ns/pid"}, {"type": "user"}],
                "seccomp": {"defaultAction": "SCMP_ACT_ERRNO"}}}),
        );
        assert!(!own_pid_ns(&s) && !shares_user_ns_by_config(&s));
        assert!(grants_ptrace(s.process().as_ref().unwrap()));
        assert!(
            blocker(&s, s.process().as_ref())
                .unwrap()
                .contains("seccomp")
        );
        let s = spec(
            json!({"process": {"cwd": "/", "selinuxLabel": "l", "capabilities": null},
            "linux": {"namespaces": [{"type": "mount"}]}}),
        );
        assert!(!own_pid_ns(&s));
        assert!(grants_ptrace(s.process().as_ref().unwrap()));
        assert!(blocker(&s, s.process().as_ref()).unwrap().contains("LSM"));
    }
}
