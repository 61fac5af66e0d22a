//! OCI hooks (config.md "POSIX-platform Hooks"): each runs with the container state on stdin,
//! its own args and env, and is killed when its timeout passes.

use anyhow::{Context, Result, bail};
use oci_spec::runtime::Hook;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the hooks of one kind in order; the first failure stops the sequence.
pub fn run_all(kind: &str, hooks: Option<&Vec<Hook>>, state: &serde_json::Value) -> Result<()> {
    for (i, h) in hooks.into_iter().flatten().enumerate() {
        run(h, state).with_context(|| format!("hooks.{kind}[{i}] ({})", h.path().display()))?;
    }
    Ok(())
}

/// Like `run_all`, but a failure is only a warning (poststart and poststop: the spec says the
/// runtime must log it and go on).
pub fn run_all_warn(kind: &str, hooks: Option<&Vec<Hook>>, state: &serde_json::Value) {
    for (i, h) in hooks.into_iter().flatten().enumerate() {
        if let Err(e) = run(h, state) {
            crate::logging::warn(&format!(
                "hooks.{kind}[{i}] ({}): {e:#}",
                h.path().display()
            ));
        }
    }
}

fn run(h: &Hook, state: &serde_json::Value) -> Result<()> {
    let mut cmd = Command::new(h.path());
    if let Some(args) = h.args() {
        if let Some(argv0) = args.first() {
            cmd.arg0(argv0);
        }
        cmd.args(args.iter().skip(1));
    }
    cmd.env_clear();
    for kv in h.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped());
    // Its own process group, so that a timeout kills what the hook started too (a shell
    // script's children would otherwise outlive it).
    cmd.process_group(0);
    let mut child = cmd.spawn().context("starting the hook")?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook may exit without reading its stdin; that is not a failure.
        let _ = stdin.write_all(state.to_string().as_bytes());
    }
    // A timeout too far away for the clock to represent is no timeout.
    let deadline = h
        .timeout()
        .filter(|t| *t > 0)
        .and_then(|t| Instant::now().checked_add(Duration::from_secs(t as u64)));
    loop {
        if let Some(status) = child.try_wait().context("waiting for the hook")? {
            if status.success() {
                return Ok(());
            }
            bail!("the hook failed: {status}");
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let pgid = nix::unistd::Pid::from_raw(-(child.id() as i32));
            let _ = nix::sys::signal::kill(pgid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the hook timed out after {}s and was killed",
                h.timeout().unwrap_or(0)
            );
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
