//! Fault injection for the reliability tests: `HULL_FAULT=OP:N` makes step N of OP (create,
//! start, exec, delete) fail with an error naming the step; `HULL_FAULT=OP:N:stop` stops the
//! process there (SIGSTOP), so that a test can SIGKILL it at exactly that point. A step may be
//! given by its name instead of its number (`create:pid file:stop`).
//!
//! Only in debug builds (`#[cfg(debug_assertions)]`): `cargo test` runs the debug binary, so the
//! tests get the switch without a cargo feature that every test command would have to enable;
//! a release build, which is what ships, has no trace of it and reads no such variable.

use anyhow::Result;

/// Marks a step of `op`. Steps are numbered from 1 in the order a command reaches them, so a
/// test can walk N = 1, 2, ... until the command no longer fails: that covers every step
/// without the test having to know how many there are.
#[cfg(debug_assertions)]
pub fn point(op: &str, name: &str) -> Result<()> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static REACHED: AtomicU32 = AtomicU32::new(0);
    let Ok(spec) = std::env::var("HULL_FAULT") else {
        return Ok(());
    };
    let mut parts = spec.split(':');
    if parts.next() != Some(op) {
        return Ok(());
    }
    let n = REACHED.fetch_add(1, Ordering::SeqCst) + 1;
    // The step by its number or its name.
    let want = parts.next().unwrap_or_default();
    if want.parse() != Ok(n) && want != name {
        return Ok(());
    }
    if parts.next() == Some("stop") {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
        return Ok(());
    }
    anyhow::bail!("fault injected at {op} step {n} ({name})")
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn point(_op: &str, _name: &str) -> Result<()> {
    Ok(())
}
