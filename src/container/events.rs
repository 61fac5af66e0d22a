//! The events of a running container for `hull events`: its resource statistics, once or at
//! an interval until it stops, and its OOM kills as they happen.

use super::{Container, Status};
use anyhow::{Result, bail};
use std::path::Path;
use std::time::{Duration, Instant};

/// runc's types.Event: its field order is the key order of each line.
#[derive(serde::Serialize)]
pub struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<crate::cgroups::stats::Stats>,
}

impl<'a> Event<'a> {
    fn oom(id: &'a str) -> Self {
        Event {
            kind: "oom",
            id,
            data: None,
        }
    }
}

/// Gives the container's events to `emit`: the statistics once (`every` None) or every
/// `every` until the container stops, with its OOM kills. Ends early when `emit` returns false
/// (its reader went away).
pub fn watch(
    root: &Path,
    id: &str,
    every: Option<Duration>,
    mut emit: impl FnMut(&Event) -> Result<bool>,
) -> Result<()> {
    // No lock: events runs for as long as the container does, and must not block delete.
    let state = Container::peek(root, id)?;
    let dir = root.join(id);
    if state.status(&dir) == Status::Stopped {
        bail!("container with id {id} is not running");
    }
    let cg = state.owned_cgroup()?;
    let missing = cg.stats_missing();
    if !missing.is_empty() {
        crate::logging::warn(&format!(
            "events: no {} statistics: the controller is not enabled for the container's cgroup {}",
            missing.join(", "),
            cg.dir.display()
        ));
    }
    let stats = |cg: &crate::cgroups::Cgroup| Event {
        kind: "stats",
        id,
        data: Some(cg.stats()),
    };
    let Some(interval) = every else {
        emit(&stats(&cg))?;
        return Ok(());
    };
    // OOM kills are polled from memory.events; a short tick keeps them timely without the
    // cost of a stats read.
    let tick = Duration::from_millis(100).min(interval);
    let mut ooms = crate::cgroups::stats::oom_kills(&cg.dir);
    let mut next = Instant::now();
    loop {
        let n = crate::cgroups::stats::oom_kills(&cg.dir);
        if n > ooms {
            if !emit(&Event::oom(id))? {
                return Ok(());
            }
            ooms = n;
        }
        if Instant::now() >= next {
            if !emit(&stats(&cg))? {
                return Ok(());
            }
            next += interval;
        }
        std::thread::sleep(tick);
        let alive = Container::peek(root, id)
            .map(|s| s.status(&dir) != Status::Stopped)
            .unwrap_or(false);
        if !alive {
            // A last look: the kill that stopped the container may have been an OOM kill.
            if crate::cgroups::stats::oom_kills(&cg.dir) > ooms {
                emit(&Event::oom(id))?;
            }
            return Ok(());
        }
    }
}
