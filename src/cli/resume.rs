//! `resume`: thaw a paused container.

use crate::container::{Container, Status};
use anyhow::{Result, bail};
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let c = Container::load(root, &a.id)?;
    if c.status() != Status::Paused {
        bail!("container not paused");
    }
    c.freezable_cgroup()?.freeze(false)?;
    Ok(0)
}
