//! Subcommands whose implementation has not landed yet: they fail clearly instead of pretending.

use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

pub fn fail(name: &str) -> Result<i32> {
    anyhow::bail!("{name}: not supported yet")
}
