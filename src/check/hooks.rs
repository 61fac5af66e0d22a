//! hooks.*[].path: each must be an executable file when its time comes. startContainer hooks
//! run in the container, so theirs is looked up in the rootfs; the others on the host.

use super::{Finding, Input, rootfs::View};
use oci_spec::runtime::Hook;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;

pub fn check(i: &Input, root: Option<&OwnedFd>, out: &mut Vec<Finding>) {
    let Some(h) = i.spec.hooks().as_ref() else {
        return;
    };
    let view = root.map(|r| View::new(i, r));
    let kinds: [(&str, &Option<Vec<Hook>>); 6] = [
        ("prestart", h.prestart()),
        ("createRuntime", h.create_runtime()),
        ("createContainer", h.create_container()),
        ("startContainer", h.start_container()),
        ("poststart", h.poststart()),
        ("poststop", h.poststop()),
    ];
    for (kind, hooks) in kinds {
        for (n, hook) in hooks.iter().flatten().enumerate() {
            let path = hook.path();
            let problem = match kind {
                "startContainer" => match &view {
                    Some(v) => v.program_problem(path),
                    None => None,
                },
                _ => host_problem(path),
            };
            let Some(why) = problem else { continue };
            let field = format!("hooks.{kind}[{n}].path");
            let reason = format!("{}: {why}", path.display());
            // The spec has create go on when a poststart or poststop hook fails.
            let f = match kind {
                "poststart" | "poststop" => {
                    if !i.warnings {
                        continue;
                    }
                    Finding::warning(
                        field,
                        reason + " (its failure will only be logged)",
                        "fix the hook's path, or install the hook",
                    )
                }
                _ => Finding::error(
                    field,
                    reason,
                    "fix the hook's path, or install the hook there, executable",
                ),
            };
            out.push(f);
        }
    }
}

fn host_problem(path: &std::path::Path) -> Option<String> {
    if !path.is_absolute() {
        return Some("must be an absolute path".into());
    }
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("does not exist".into()),
        Err(e) => Some(format!("{e}")),
        Ok(m) if !m.is_file() => Some("is not a regular file".into()),
        Ok(m)
            if m.permissions().mode() & 0o111 == 0
                || nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_err() =>
        {
            Some("is not executable".into())
        }
        Ok(_) => None,
    }
}
