//! `run`: create + start, and in the foreground wait for the process, relaying signals to it and
//! its exit status back (128+N for signal N), then delete it unless --keep. With
//! process.terminal and no --console-socket, hull relays the pty to its own stdio.

use crate::process::{foreground, stdio};
use anyhow::Result;
use std::os::fd::AsFd;
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Return once the container has started.
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the container after it exits (foreground only).
    #[arg(long)]
    pub keep: bool,
    /// The same flags as `create`.
    #[command(flatten)]
    pub create: super::create::Args,
}

pub fn run(root: &Path, a: Args, systemd: bool, rootless: bool) -> Result<i32> {
    // In the foreground hull allocates the pty itself (through `relay`) and relays its own
    // stdio; create checks process.terminal against a console socket.
    foreground::check_console_socket(a.detach, None, a.create.console_socket.is_some())?;
    let relay = if a.detach {
        None
    } else {
        Some(foreground::console_pair()?)
    };
    // Without a terminal, pipes rather than the caller's own files (process::stdio).
    let (theirs, pipes) = match a.detach {
        true => ([None, None, None], None),
        false => {
            let p = stdio::plan()?;
            (p.container, Some(p.relay))
        }
    };
    let created = crate::container::create::create(&a.create.options(
        root,
        systemd,
        rootless,
        relay.as_ref().map(|(_, theirs)| theirs.as_fd()),
        [0, 1, 2].map(|i| theirs[i].as_ref().map(|f| f.as_fd())),
    ))?;
    // Only the container may hold the write ends: their EOF ends the relay.
    drop(theirs);
    let pipes = pipes.filter(|p| !created.terminal && !p.is_empty());
    // Block the relayed signals before the process can run, so none is lost in between.
    let set = if a.detach {
        None
    } else {
        Some(foreground::block_signals()?)
    };
    if let Err(e) = created.container.start() {
        let _ = created.container.delete(true);
        return Err(e);
    }
    let Some(set) = set else {
        return Ok(0);
    };
    let master = match (&relay, created.terminal) {
        (Some((ours, _)), true) => Some(foreground::recv_master(ours)?),
        _ => None,
    };
    drop(relay);
    let pid = created.pid;
    // Release the lock while the container runs, so that kill and state work meanwhile.
    drop(created.container);
    let code = foreground::wait(pid, set, master, pipes)?;
    if !a.keep {
        match crate::container::Container::load(root, &a.create.id) {
            Ok(c) => c.delete(true)?,
            Err(e) => crate::logging::debug!("container gone before delete: {e:#}"),
        }
    }
    Ok(code)
}
