//! `run`: create + start, and in the foreground wait for the process, relaying signals to it and
//! its exit status back (128+N for signal N), then delete it unless --keep.

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Return once the container has started.
    #[arg(short, long)]
    pub detach: bool,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Keep the container after it exits (foreground only).
    #[arg(long)]
    pub keep: bool,
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    pub id: String,
}

const RELAYED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let created = crate::container::create::create(&crate::container::create::Options {
        root,
        id: &a.id,
        bundle: &a.bundle,
        pid_file: a.pid_file.as_deref(),
        console_socket: a.console_socket.as_deref(),
        no_pivot: a.no_pivot,
        preserve_fds: a.preserve_fds,
        foreground: !a.detach,
    })?;
    // Block the relayed signals before the process can run, so none is lost in between.
    let mut set = SigSet::empty();
    for s in RELAYED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    if !a.detach {
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None).context("blocking signals")?;
    }
    if let Err(e) = created.container.start() {
        let _ = created.container.delete(true);
        return Err(e);
    }
    if a.detach {
        return Ok(0);
    }
    let pid = created.pid;
    // Release the lock while the container runs, so that kill and state work meanwhile.
    drop(created.container);
    let code = wait_relaying(pid, set)?;
    if !a.keep {
        match crate::container::Container::load(root, &a.id) {
            Ok(c) => c.delete(true)?,
            Err(e) => crate::logging::debug(&format!("container gone before delete: {e:#}")),
        }
    }
    Ok(code)
}

fn wait_relaying(pid: Pid, set: SigSet) -> Result<i32> {
    let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC).context("signalfd")?;
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)).context("waiting for the container")? {
            WaitStatus::Exited(_, code) => return Ok(code),
            WaitStatus::Signaled(_, sig, _) => return Ok(128 + sig as i32),
            _ => {}
        }
        if let Some(info) = sfd.read_signal().context("reading signalfd")? {
            let sig = info.ssi_signo as i32;
            if sig != libc::SIGCHLD {
                let _ = nix::sys::signal::kill(pid, Signal::try_from(sig).ok());
            }
        }
    }
}
