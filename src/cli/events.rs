//! `events`: resource statistics, once (`--stats`) or every `--interval` until the container
//! stops, plus OOM kills as they happen. The output is runc's: one JSON object per line.

use crate::container::{Container, Status};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the statistics once and exit.
    #[arg(long)]
    pub stats: bool,
    /// Time between statistics (e.g. 5s, 500ms, 1m).
    #[arg(long, default_value = "5s")]
    pub interval: String,
    pub id: String,
}

/// A Go-style duration: a number and a unit (ns, us, ms, s, m, h), possibly several ("1m30s").
pub fn parse_duration(s: &str) -> Result<Duration> {
    let bad = || anyhow::anyhow!("--interval: {s:?} is not a duration (e.g. 5s, 500ms)");
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..n_end].parse().map_err(|_| bad())?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..u_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * secs;
        rest = &rest[u_end..];
    }
    if total <= 0.0 {
        bail!("--interval: {s:?} must be positive");
    }
    // The interval is added to an Instant on every tick: one that could overflow it is refused
    // here rather than panicking later.
    Duration::try_from_secs_f64(total)
        .ok()
        .filter(|d| *d <= MAX_INTERVAL)
        .with_context(|| format!("--interval: {s:?} is longer than a year"))
}

const MAX_INTERVAL: Duration = Duration::from_secs(366 * 24 * 3600);

/// runc's types.Event: its field order is the key order of each line.
#[derive(serde::Serialize)]
struct Event<'a> {
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

/// One event per line. False when the reader went away: the stream then ends quietly.
fn print(e: Event) -> Result<bool> {
    super::print(&(serde_json::to_string(&e).context("encoding an event")? + "\n"))
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let interval = parse_duration(&a.interval)?;
    // No lock: events runs for as long as the container does, and must not block delete.
    let state = Container::peek(root, &a.id)?;
    let dir = root.join(&a.id);
    if state.status(&dir) == Status::Stopped {
        bail!("container with id {} is not running", a.id);
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
        id: &a.id,
        data: Some(cg.stats()),
    };
    if a.stats {
        print(stats(&cg))?;
        return Ok(0);
    }
    // OOM kills are polled from memory.events; a short tick keeps them timely without the
    // cost of a stats read.
    let tick = Duration::from_millis(100).min(interval);
    let mut ooms = crate::cgroups::stats::oom_kills(&cg.dir);
    let mut next = Instant::now();
    loop {
        let n = crate::cgroups::stats::oom_kills(&cg.dir);
        if n > ooms {
            if !print(Event::oom(&a.id))? {
                return Ok(0);
            }
            ooms = n;
        }
        if Instant::now() >= next {
            if !print(stats(&cg))? {
                return Ok(0);
            }
            next += interval;
        }
        std::thread::sleep(tick);
        let alive = Container::peek(root, &a.id)
            .map(|s| s.status(&dir) != Status::Stopped)
            .unwrap_or(false);
        if !alive {
            // A last look: the kill that stopped the container may have been an OOM kill.
            if crate::cgroups::stats::oom_kills(&cg.dir) > ooms {
                print(Event::oom(&a.id))?;
            }
            return Ok(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999999h").is_err());
        assert!(parse_duration("9000h").is_err());
        assert!(parse_duration("8000h").is_ok());
    }
}
