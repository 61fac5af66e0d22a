//! `events`: resource statistics, once (`--stats`) or every `--interval` until the container
//! stops, plus OOM kills as they happen (container::events). The output is runc's: one JSON
//! object per line.

use crate::container::events::Event;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::time::Duration;

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

/// One event per line. False when the reader went away: the stream then ends quietly.
fn print(e: &Event) -> Result<bool> {
    super::print(&(serde_json::to_string(e).context("encoding an event")? + "\n"))
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let interval = parse_duration(&a.interval)?;
    let every = (!a.stats).then_some(interval);
    crate::container::events::watch(root, &a.id, every, print)?;
    Ok(0)
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
