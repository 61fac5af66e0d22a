//! config.json on its own: create's validation (crate::spec), and what it only warns about.

use super::{Finding, Severity};
use oci_spec::runtime::Spec;

const FIX: &str = "correct this field in config.json (see the OCI runtime-spec, config.md)";

/// The typed spec, if config.json could be typed, and its findings.
pub fn check(text: &str) -> (Option<Spec>, Vec<Finding>) {
    let e = match crate::spec::examine(text) {
        Ok(e) => e,
        Err(e) => {
            let f = Finding::error("", format!("{e:#}"), "config.json must be one JSON object");
            return (None, vec![f]);
        }
    };
    let mut out: Vec<Finding> = e
        .problems
        .iter()
        .map(|p| Finding::from_line(Severity::Error, p, FIX))
        .collect();
    out.extend(e.warnings.iter().map(|w| {
        Finding::from_line(
            Severity::Warning,
            w,
            "remove it, or spell it as capabilities(7) does, e.g. CAP_NET_ADMIN",
        )
    }));
    if let Some(spec) = &e.spec {
        // create says it as a warning too (spec::load).
        if let Some(why) = crate::spec::version_concern(spec.version()) {
            out.push(Finding::warning(
                "ociVersion",
                why,
                &format!(
                    "set it to the runtime-spec version the config follows, e.g. {:?}",
                    crate::spec::IMPLEMENTED_VERSION
                ),
            ));
        }
        mount_options(spec, &mut out);
        seccomp_syscalls(spec, &mut out);
    }
    (e.spec, out)
}

/// A bind mount takes no filesystem data: an option that is neither a mount flag nor a
/// propagation (mount_options) is dropped there. For other types it goes to the filesystem,
/// which judges it.
fn mount_options(spec: &Spec, out: &mut Vec<Finding>) {
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let opts = m.options().clone().unwrap_or_default();
        let parsed = crate::mount_options::parse(&opts);
        let bind = m.typ().as_deref() == Some("bind")
            || parsed.flags.contains(nix::mount::MsFlags::MS_BIND);
        if !bind {
            continue;
        }
        for d in &parsed.data {
            let j = opts.iter().position(|o| o == d).unwrap_or(0);
            out.push(Finding::warning(
                format!("mounts[{i}].options[{j}]"),
                format!("unknown mount option {d:?}: a bind mount takes no filesystem data, so it is ignored"),
                "remove it, or use a mount flag (ro, nosuid, nodev, noexec, rbind, rprivate...)",
            ));
        }
    }
}

/// Syscall names libseccomp does not know are skipped when the filter is compiled (as runc
/// does): said here, since the profile then does less than it reads.
fn seccomp_syscalls(spec: &Spec, out: &mut Vec<Finding>) {
    let Some(s) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return;
    };
    for (i, call) in s.syscalls().iter().flatten().enumerate() {
        for (j, name) in call.names().iter().enumerate() {
            if libseccomp::ScmpSyscall::from_name(name).is_err() {
                out.push(Finding::warning(
                    format!("linux.seccomp.syscalls[{i}].names[{j}]"),
                    format!(
                        "libseccomp {} does not know the syscall {name:?}; the rule skips it",
                        libseccomp_version()
                    ),
                    "check its spelling, or upgrade libseccomp if the syscall is newer than it",
                ));
            }
        }
    }
}

fn libseccomp_version() -> String {
    libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_default()
}
