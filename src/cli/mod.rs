//! The command line, shaped exactly like runc's because engines depend on it.

mod check;
mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod resume;
mod run;
mod spec;
mod start;
mod state;
mod update;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

use crate::container::rootless::Flag as Rootless;

/// `--root`, or the default for a caller that is `rootless` or not.
fn root_or_default(root: Option<PathBuf>, rootless: bool) -> anyhow::Result<PathBuf> {
    match root {
        Some(r) => Ok(r),
        None => crate::container::rootless::default_root(rootless),
    }
}

/// `hull [--root DIR] state ID`, exactly: the call engines make most often (containerd's shim
/// asks for the state at every turn). It skips building clap's parser, a measurable share of so
/// short a command; any other form of the same call goes through clap and means the same.
pub fn fast_path(args: &[std::ffi::OsString]) -> Option<anyhow::Result<i32>> {
    let (root, a) = state_fast_path(args)?;
    Some(
        crate::logging::init(None, crate::logging::Format::Text, false)
            .and_then(|()| state::run(&root, a)),
    )
}

fn state_fast_path(args: &[std::ffi::OsString]) -> Option<(PathBuf, state::Args)> {
    let args: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|a| a.to_str())
        .collect::<Option<_>>()?;
    let (root, rest) = match args.as_slice() {
        ["--root", root, rest @ ..] => (Some(*root), rest),
        [first, rest @ ..] if first.starts_with("--root=") => (Some(&first[7..]), rest),
        rest => (None, rest),
    };
    match rest {
        ["state", id] if root != Some("") && !id.is_empty() && !id.starts_with('-') => {
            let root = match root {
                Some(r) => PathBuf::from(r),
                None => root_or_default(None, crate::container::rootless::detect(Rootless::Auto))
                    .ok()?,
            };
            Some((root, state::Args { id: id.to_string() }))
        }
        _ => None,
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "hull",
    bin_name = "hull",
    about = "an OCI container runtime",
    disable_version_flag = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Root directory for container state (default /run/hull; $XDG_RUNTIME_DIR/hull rootless).
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Whether hull runs rootless: true, false, or auto (not root, or in a user namespace).
    /// Before the command only, as with runc: `spec --rootless` is spec's own flag.
    #[arg(
        long = "rootless",
        id = "rootless_mode",
        value_enum,
        default_value = "auto"
    )]
    pub rootless: Rootless,
    /// Write the log to this file instead of stderr.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long = "log-format", global = true, value_enum, default_value = "text")]
    pub log_format: crate::logging::Format,
    /// Log debug messages too.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Manage cgroups through systemd.
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Print the version.
    #[arg(short = 'v', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Report every problem of a bundle on this host, without side effects.
    Check(check::Args),
    /// Create a container, leaving its process blocked before exec.
    Create(create::Args),
    /// Start a created container.
    Start(start::Args),
    /// Print the state of a container as JSON.
    State(state::Args),
    /// Send a signal to a container's init (or to all its processes).
    Kill(kill::Args),
    /// Delete a container and its resources.
    Delete(delete::Args),
    /// Create and start a container.
    Run(run::Args),
    /// List containers.
    List(list::Args),
    /// Write a default config.json.
    Spec(spec::Args),
    /// Run a new process inside a container.
    Exec(exec::Args),
    /// List the processes of a container.
    Ps(ps::Args),
    /// Print the features this runtime supports.
    Features(features::Args),
    /// Freeze a container.
    Pause(pause::Args),
    /// Thaw a container.
    Resume(resume::Args),
    /// Print container events and statistics.
    Events(events::Args),
    /// Change a container's resource limits.
    Update(update::Args),
    /// Shows a list of commands or help for one command.
    #[command(visible_alias = "h")]
    Help {
        /// The command to describe.
        command: Option<String>,
    },
}

/// The parser for `args`. Help is shaped as runc's only where `args` may ask for it
/// (`-h`, `--help`): the templates cost a command that shows no help some 70,000 instructions.
pub fn parser(args: &[std::ffi::OsString]) -> clap::Command {
    let asks_help = args.iter().skip(1).any(|a| {
        a.to_str().is_some_and(|a| {
            a == "--help" || (a.starts_with('-') && !a.starts_with("--") && a.contains('h'))
        })
    });
    match asks_help {
        true => command(),
        false => <Cli as clap::CommandFactory>::command(),
    }
}

/// The parser, with help shaped as runc's (urfave/cli): NAME, USAGE, VERSION, COMMANDS and
/// GLOBAL OPTIONS; each command's NAME, USAGE and OPTIONS.
fn command() -> clap::Command {
    use clap::CommandFactory;
    let top = format!(
        "NAME:\n   hull - {{about}}\n\n\
         USAGE:\n   hull [global options] command [command options] [arguments...]\n\n\
         VERSION:\n   {}\n\n\
         COMMANDS:\n{{subcommands}}\n\n\
         GLOBAL OPTIONS:\n{{options}}\n",
        version().trim_end().trim_start_matches("hull version ")
    );
    Cli::command().help_template(top).mut_subcommands(|c| {
        let name = c.get_name().to_string();
        c.help_template(format!(
            "NAME:\n   hull {name} - {{about}}\n\n\
             USAGE:\n   {{usage}}\n\n\
             OPTIONS:\n{{options}}\n"
        ))
    })
}

/// What `--version` prints: runc's lines, whose first tools read with `version ([0-9.]+)`.
fn version() -> String {
    format!(
        "hull version {}\ncommit: {}\nspec: {}\n",
        env!("CARGO_PKG_VERSION"),
        option_env!("HULL_COMMIT").unwrap_or("unknown"),
        crate::spec::IMPLEMENTED_VERSION
    )
}

/// `help [COMMAND]`: the help of hull or of one command; runc's answer and status 3 for a
/// command that does not exist.
fn help(topic: Option<&str>) -> Result<i32> {
    let mut cmd = command();
    cmd.build();
    let text = match topic {
        None => cmd.render_help(),
        Some(t) => match cmd.find_subcommand_mut(t) {
            Some(sub) => sub.render_help(),
            None => {
                eprintln!("No help topic for '{t}'");
                return Ok(3);
            }
        },
    };
    print(&text.to_string())?;
    Ok(0)
}

/// Runs the command and returns the process exit code.
pub fn dispatch(cli: Cli) -> Result<i32> {
    if cli.version {
        print(&version())?;
        return Ok(0);
    }
    let cmd = match cli.command {
        // As runc: no command means the help, on stdout, and success.
        None => return help(None),
        Some(Command::Help { command }) => return help(command.as_deref()),
        Some(cmd) => cmd,
    };
    let rootless = crate::container::rootless::detect(cli.rootless);
    let root = &root_or_default(cli.root, rootless)?;
    match cmd {
        Command::Check(a) => check::run(a, cli.systemd_cgroup, rootless),
        Command::Create(a) => create::run(root, a, cli.systemd_cgroup, rootless),
        Command::Start(a) => start::run(root, a),
        Command::State(a) => state::run(root, a),
        Command::Kill(a) => kill::run(root, a),
        Command::Delete(a) => delete::run(root, a),
        Command::Run(a) => run::run(root, a, cli.systemd_cgroup, rootless),
        Command::List(a) => list::run(root, a),
        Command::Spec(a) => spec::run(a),
        // runc's exec exits 255 when it fails itself, so that a caller can tell that from the
        // process's own exit code.
        Command::Exec(a) => exec::run(root, a).or_else(|e| {
            crate::logging::error(&format!("{e:#}").replace('\n', " "));
            Ok(255)
        }),
        Command::Ps(a) => ps::run(root, a),
        Command::Features(a) => features::run(a),
        Command::Pause(a) => pause::run(root, a),
        Command::Resume(a) => resume::run(root, a),
        Command::Events(a) => events::run(root, a),
        Command::Update(a) => update::run(root, a),
        Command::Help { command } => help(command.as_deref()),
    }
}

/// Writes command output. A reader that went away (`hull list | head`) is not an error.
/// Returns false when the reader is gone, so that a stream (`events`) can stop.
pub fn print(text: &str) -> Result<bool> {
    use std::io::Write;
    match std::io::stdout().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        r => r
            .map(|()| true)
            .map_err(|e| anyhow::anyhow!("writing to stdout: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::DEFAULT_ROOT;

    fn fast(args: &[&str]) -> Option<(String, String)> {
        let v: Vec<std::ffi::OsString> = std::iter::once("hull")
            .chain(args.iter().copied())
            .map(Into::into)
            .collect();
        state_fast_path(&v).map(|(r, a)| (r.display().to_string(), a.id))
    }

    #[test]
    fn help_has_runcs_shape_however_it_is_asked_for() {
        for args in [
            &["-h"][..],
            &["--help"],
            &["run", "-dh"],
            &["create", "--help"],
        ] {
            let v: Vec<std::ffi::OsString> = std::iter::once("hull")
                .chain(args.iter().copied())
                .map(Into::into)
                .collect();
            let help = match parser(&v).try_get_matches_from(v) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{args:?} parsed"),
            };
            assert!(help.starts_with("NAME:\n   hull "), "{args:?}: {help}");
        }
    }

    #[test]
    fn only_the_plain_state_call_takes_the_fast_path() {
        let want = |r: &str, id: &str| Some((r.to_string(), id.to_string()));
        assert_eq!(fast(&["state", "c1"]), want(DEFAULT_ROOT, "c1"));
        assert_eq!(fast(&["--root", "/r", "state", "c1"]), want("/r", "c1"));
        assert_eq!(fast(&["--root=/r", "state", "c1"]), want("/r", "c1"));
        for other in [
            &["state"][..],
            &["state", "--help"],
            &["state", "c1", "extra"],
            &["--debug", "state", "c1"],
            &["--root", "/r", "--log", "/l", "state", "c1"],
            &["state", "c1", "--root", "/r"],
            &["--root=", "state", "c1"],
            &["list"],
        ] {
            assert_eq!(fast(other), None, "{other:?}");
        }
    }
}
