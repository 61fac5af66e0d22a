//! `ps`: the processes of a container, as JSON pids or as `ps` output filtered to them.

use crate::container::Container;
use anyhow::{Context, Result, bail};
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output format: table or json.
    #[arg(short, long, default_value = "table")]
    pub format: String,
    pub id: String,
    /// Options for ps(1) (table format only); "-ef" by default.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let state = Container::peek(root, &a.id)?;
    let cg = state.owned_cgroup()?;
    let pids = cg.all_procs()?;
    match a.format.as_str() {
        "json" => {
            super::print(&(serde_json::to_string(&pids)? + "\n"))?;
            Ok(0)
        }
        "table" => table(&pids, &a.ps_args),
        f => bail!("--format: {f:?} is not a format (table or json)"),
    }
}

/// Runs ps(1) and keeps its header and the lines whose PID column is one of `pids` (runc's
/// way: the PID column is found by name in the header).
fn table(pids: &[i32], args: &[String]) -> Result<i32> {
    let args: Vec<String> = if args.is_empty() {
        vec!["-ef".into()]
    } else {
        args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .context("running ps")?;
    if !out.status.success() {
        bail!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().context("ps printed nothing")?;
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .context("ps output has no PID column")?;
    let mut out = format!("{header}\n");
    for l in lines {
        if let Some(pid) = l.split_whitespace().nth(col).and_then(|p| p.parse().ok())
            && pids.contains(&pid)
        {
            out += l;
            out.push('\n');
        }
    }
    super::print(&out)?;
    Ok(0)
}
