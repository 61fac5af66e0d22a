use anyhow::Result;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[group(skip)]
pub struct Args {
    /// Path to the bundle (the directory holding config.json).
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Write the init's pid to this file.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when process.terminal is true.
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Use MS_MOVE and chroot instead of pivot_root.
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Keep the caller's session keyring instead of a new `_ses.<id>` one.
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass this many fds, from 3 up, to the container process.
    #[arg(long = "preserve-fds", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(..=i64::from(crate::notify::MAX_FDS)))]
    pub preserve_fds: u32,
    pub id: String,
}

impl Args {
    /// The container API's options for these flags (shared with `run`).
    pub fn options<'a>(
        &'a self,
        root: &'a Path,
        systemd: bool,
        rootless: bool,
        console_relay: Option<std::os::fd::BorrowedFd<'a>>,
        stdio: [Option<std::os::fd::BorrowedFd<'a>>; 3],
    ) -> crate::container::create::Options<'a> {
        crate::container::create::Options {
            root,
            id: &self.id,
            bundle: &self.bundle,
            pid_file: self.pid_file.as_deref(),
            console_socket: self.console_socket.as_deref(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
            systemd,
            rootless,
            console_relay,
            stdio,
        }
    }
}

pub fn run(root: &Path, a: Args, systemd: bool, rootless: bool) -> Result<i32> {
    crate::container::create::create(&a.options(
        root,
        systemd,
        rootless,
        None,
        [None, None, None],
    ))?;
    Ok(0)
}
