use anyhow::{Result, bail};
use nix::sys::signal::Signal;
use std::path::Path;
use std::str::FromStr;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Send the signal to every process in the container's cgroup.
    #[arg(short, long)]
    pub all: bool,
    pub id: String,
    /// A signal name (with or without SIG) or number; TERM by default.
    #[arg(default_value = "TERM")]
    pub signal: String,
}

pub fn parse_signal(s: &str) -> Result<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| anyhow::anyhow!("invalid signal {s:?}"));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    match Signal::from_str(&name) {
        Ok(sig) => Ok(sig),
        Err(_) => bail!("invalid signal {s:?}"),
    }
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    // Signal 0 sends nothing and only checks that the container runs, as with runc.
    let sig = match a.signal.as_str() {
        "0" => None,
        s => Some(parse_signal(s)?),
    };
    crate::container::Container::load(root, &a.id)?.kill(sig, a.all)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_numbers() {
        assert_eq!(parse_signal("KILL").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal("sigterm").unwrap(), Signal::SIGTERM);
        assert_eq!(parse_signal("9").unwrap(), Signal::SIGKILL);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("999").is_err());
    }
}
