//! hull: an OCI container runtime with runc's command line.
//!
//! The process entry point is `sys::entry::main`: it skips Rust's runtime set-up (a stack guard
//! found by reading /proc/self/maps, a signal stack, checks of fds 0-2), which is a measurable
//! part of a short command like `hull state`.
//!
//! The modules, each calling only those listed below it:
//! - `cli`: runc's command line; parses the flags, calls one operation, prints its result.
//! - `container`: the operations (create, start, exec, kill, delete, update, events, recovery)
//!   on a container's locked state dir; `check`: `hull check` and the gate `create` runs first.
//! - `process`: what runs in a cloned process: the init (`init`), the process of `hull exec`
//!   (`joiner`), their shared last steps (`apply`, `execve`); the foreground wait (`foreground`).
//! - One runtime-spec section each: `rootfs`, `security`, `cgroups`, `resctrl`, `netdev`,
//!   `sysctl`, `hooks`, `notify`.
//! - `spec`: config.json's loading, checks and default, with `mount_options` (the option table).
//! - `sys`: the only `unsafe`, syscalls nix lacks; `logging`, `time`, `unix_path`: utilities.
//!
//! Dependencies that must never exist: any module but `main` on `cli`; `process` on
//! `container`; `spec` on `rootfs`, `security`, `process`, `cgroups`, `container` or `cli`;
//! `sys` on any module of hull (its entry point calls `run`, nothing more); `cgroups` starting
//! a process; `rootfs` changing a cgroup.
#![cfg_attr(not(test), no_main)]

mod cgroups;
mod check;
mod cli;
mod container;
#[cfg(test)]
mod fuzz;
mod hooks;
mod logging;
mod mount_options;
mod netdev;
mod notify;
mod process;
mod resctrl;
mod rootfs;
mod security;
mod spec;
mod sys;
mod sysctl;
mod time;
mod unix_path;

use clap::FromArgMatches;

/// Everything `main` would do; called by `sys::entry::main`.
#[cfg_attr(test, allow(dead_code))]
fn run() -> ! {
    // Writes to a closed pipe must fail with EPIPE (handled where output is written) rather
    // than kill hull, as Rust's runtime would have arranged.
    let _ = sys::ignore_sigpipe();
    sys::no_error_backtraces();
    // A panic is a bug, but it must still read as one line, like every other error.
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string().replace('\n', " ");
        eprintln!("hull: internal error: {msg}");
    }));
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(r) = cli::fast_path(&args) {
        finish(r);
    }
    let cli = match cli::parser(&args)
        .try_get_matches_from(args)
        .and_then(|mut m| cli::Cli::from_arg_matches_mut(&mut m))
    {
        Ok(cli) => cli,
        Err(e) => usage_error(e),
    };
    if let Err(e) = logging::init(cli.log.as_deref(), cli.log_format, cli.debug) {
        eprintln!("hull: {e:#}");
        std::process::exit(1);
    }
    finish(cli::dispatch(cli));
}

/// Exits with the command's code, or logs its error as one line and exits 1.
fn finish(r: anyhow::Result<i32>) -> ! {
    match r {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            logging::error(&format!("{e:#}").replace('\n', " "));
            std::process::exit(1);
        }
    }
}

/// clap's errors span several lines (the error, a tip, the usage). Engines and people expect one
/// line, like every other hull error; --help and --version print as they are.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    // runc (urfave/cli) answers an unknown command so, with exit status 3.
    if e.kind() == ErrorKind::InvalidSubcommand
        && let Some(clap::error::ContextValue::String(cmd)) =
            e.get(clap::error::ContextKind::InvalidSubcommand)
    {
        eprintln!("No help topic for '{cmd}'");
        std::process::exit(3);
    }
    let text = e.render().to_string();
    let line: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("tip:") && !l.starts_with("For more information")
        })
        .collect();
    let line = line.join(" ");
    eprintln!(
        "hull: {} (see hull --help)",
        line.strip_prefix("error: ").unwrap_or(&line)
    );
    std::process::exit(e.exit_code());
}
