//! hull: an OCI container runtime with runc's command line.

mod cgroups;
mod cli;
mod container;
mod hooks;
mod logging;
mod notify;
mod process;
mod rootfs;
mod security;
mod spec;
mod sys;
mod sysctl;
mod time;

use clap::Parser;

fn main() {
    // A panic is a bug, but it must still read as one line, like every other error.
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string().replace('\n', " ");
        eprintln!("hull: internal error: {msg}");
    }));
    let cli = cli::Cli::parse();
    if let Err(e) = logging::init(cli.log.as_deref(), cli.log_format, cli.debug) {
        eprintln!("hull: {e:#}");
        std::process::exit(1);
    }
    match cli::dispatch(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            logging::error(&format!("{e:#}").replace('\n', " "));
            std::process::exit(1);
        }
    }
}
