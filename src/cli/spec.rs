use anyhow::{Context, Result, bail};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory to write config.json in.
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for a container run by an unprivileged user.
    #[arg(long)]
    pub rootless: bool,
}

pub fn run(a: Args) -> Result<i32> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        bail!("{} exists; remove it first", path.display());
    }
    let text = serde_json::to_string_pretty(&crate::spec::default_spec(a.rootless))?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    Ok(0)
}
