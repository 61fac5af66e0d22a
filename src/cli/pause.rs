//! `pause`: freeze every process of a container (cgroup.freeze).

use crate::container::{Container, Status};
use anyhow::{Result, bail};
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let c = Container::load(root, &a.id)?;
    // runc pauses created containers too: their init is blocked, freezing it is harmless.
    match c.status() {
        Status::Running | Status::Created => {}
        _ => bail!("container not running"),
    }
    c.freezable_cgroup()?.freeze(true)?;
    Ok(0)
}
