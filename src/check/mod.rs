//! `hull check`: every problem of a bundle on this host, found without side effects (no state
//! dir, cgroup, mount or process), each naming its config.json field.
//!
//! create runs the same error checks (`gate`) before it touches anything, so that the first
//! error create reports is the first one `hull check` lists. The checks create runs cost
//! microseconds: no subprocess, no big file, each /proc or /sys file read at most once. What
//! only warns (and costs more, such as asking libseccomp about every syscall name) runs only
//! for `hull check`.

mod hooks;
mod host;
mod rootfs;
mod spec;

use anyhow::{Result, bail};
use oci_spec::runtime::Spec;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem: where in config.json, why, and what to change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub path: String,
    pub reason: String,
    pub hint: String,
}

impl Finding {
    pub fn error(path: impl Into<String>, reason: impl Into<String>, hint: &str) -> Finding {
        Finding {
            severity: Severity::Error,
            path: path.into(),
            reason: reason.into(),
            hint: hint.to_string(),
        }
    }

    pub fn warning(path: impl Into<String>, reason: impl Into<String>, hint: &str) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(path, reason, hint)
        }
    }

    /// A problem said as "json.path: reason" (config.json's checks, create's own errors).
    fn from_line(severity: Severity, line: &str, hint: &str) -> Finding {
        let (path, reason) = split_line(line);
        Finding {
            severity,
            path,
            reason,
            hint: hint.to_string(),
        }
    }

    /// create's one-line error for it.
    pub fn message(&self) -> String {
        match self.path.is_empty() {
            true => self.reason.clone(),
            false => format!("{}: {}", self.path, self.reason),
        }
    }
}

/// "json.path: reason" into its two halves; a line without a leading path keeps it all as the
/// reason.
fn split_line(line: &str) -> (String, String) {
    match line.split_once(": ") {
        Some((path, reason)) if !path.is_empty() && !path.contains(' ') => {
            (path.to_string(), reason.to_string())
        }
        _ => (String::new(), line.to_string()),
    }
}

/// What the checks need besides the spec.
pub struct Input<'a> {
    /// The bundle directory (canonical), which root.path is relative to.
    pub bundle: &'a Path,
    pub spec: &'a Spec,
    /// `--systemd-cgroup`.
    pub systemd: bool,
    pub rootless: bool,
    /// The container id, for the default cgroup path.
    pub id: &'a str,
    /// Also the checks that can only warn (`hull check`; create skips them).
    pub warnings: bool,
}

/// Every check but config.json's own, in the order create meets them.
fn host_rootfs_hooks(i: &Input) -> Vec<Finding> {
    let mut out = Vec::new();
    let root = rootfs::root_dir(i, &mut out);
    host::check(i, &mut out);
    if let Some(root) = &root {
        rootfs::check(i, root, &mut out);
    }
    hooks::check(i, root.as_ref(), &mut out);
    out
}

/// `hull check`: everything wrong with the bundle at `bundle` on this host.
pub fn bundle(bundle: &Path, systemd: bool, rootless: bool) -> Vec<Finding> {
    let config = bundle.join("config.json");
    let text = match std::fs::read_to_string(&config) {
        Ok(t) => t,
        Err(e) => {
            return vec![Finding::error(
                "",
                format!("cannot read {}: {e}", config.display()),
                "run hull check -b on the bundle directory, the one that holds config.json",
            )];
        }
    };
    let bundle = std::fs::canonicalize(bundle).unwrap_or_else(|_| bundle.to_path_buf());
    let (spec, mut out) = spec::check(&text);
    if let Some(spec) = &spec {
        out.extend(host_rootfs_hooks(&Input {
            bundle: &bundle,
            spec,
            systemd,
            rootless,
            id: "hull-check",
            warnings: true,
        }));
    }
    out
}

/// create's half: the first error of the checks beyond config.json's own (which `spec::load`
/// has already made), as create's one-line error.
pub fn gate(i: &Input) -> Result<()> {
    if let Some(f) = host_rootfs_hooks(i)
        .into_iter()
        .find(|f| f.severity == Severity::Error)
    {
        bail!("{}", f.message());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_at_the_path() {
        assert_eq!(
            split_line("process.cwd: must be absolute: x"),
            ("process.cwd".into(), "must be absolute: x".into())
        );
        assert_eq!(
            split_line("the top level must be a JSON object"),
            (String::new(), "the top level must be a JSON object".into())
        );
    }
}
