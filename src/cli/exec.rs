//! `exec`: runc's flags. The process comes from --process FILE (what containerd, CRI-O and
//! conmon pass; the other process flags are then ignored, as with runc) or from the container's
//! own process with the command and the flags applied over it.

use crate::container::exec;
use anyhow::{Context, Result, bail};
use oci_spec::runtime::{Capability, LinuxCapabilities, Process};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Unix socket that receives the pty master (with --tty and --detach).
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Write the process's pid to this file.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Working directory in the container.
    #[arg(long)]
    pub cwd: Option<String>,
    /// Set an environment variable (KEY=VALUE); may be repeated.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// UID[:GID] to run as (numeric).
    #[arg(short, long)]
    pub user: Option<String>,
    /// An additional group (numeric); may be repeated.
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// A process.json to run instead of the command line.
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Return once the process has started.
    #[arg(short, long)]
    pub detach: bool,
    /// SELinux label for the process.
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// AppArmor profile for the process.
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Set no_new_privs for the process.
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Add a capability (CAP_X) to the bounding, effective and permitted sets; may be repeated.
    #[arg(short, long)]
    pub cap: Vec<String>,
    /// Pass this many fds, from 3 up, to the process.
    #[arg(long = "preserve-fds", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(..=i64::from(crate::notify::MAX_FDS)))]
    pub preserve_fds: u32,
    /// Run in this existing sub-cgroup of the container ([:]PATH; cgroup v2).
    #[arg(long)]
    pub cgroup: Vec<String>,
    /// Exec in a paused container too (the process stays frozen until it is resumed).
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    pub id: String,
    /// The command and its arguments (unless --process).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let container = crate::container::Container::load(root, &a.id)?;
    let spec = container.spec()?;
    let process = match &a.process {
        Some(path) => from_file(path)?,
        None => {
            let base = spec
                .process()
                .clone()
                .context("process: missing in the container's config")?;
            from_flags(base, &a)?
        }
    };
    if a.cgroup.len() > 1 {
        bail!("--cgroup: given more than once; with cgroup v2 a single path applies");
    }
    exec::exec(
        container,
        exec::Options {
            spec,
            process,
            detach: a.detach,
            pid_file: a.pid_file.as_deref(),
            console_socket: a.console_socket.as_deref(),
            preserve_fds: a.preserve_fds,
            sub_cgroup: a.cgroup.first().map(String::as_str),
            ignore_paused: a.ignore_paused,
        },
    )
}

/// A process.json, checked like config.json's process.
fn from_file(path: &Path) -> Result<Process> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--process {}: cannot read it", path.display()))?;
    // runc takes a process without `user` as uid 0 and gid 0.
    let mut v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("--process {}: not JSON", path.display()))?;
    if let Some(o) = v.as_object_mut() {
        o.entry("user")
            .or_insert(serde_json::json!({"uid": 0, "gid": 0}));
    }
    let p: Process = serde_path_to_error::deserialize(v).map_err(|e| {
        anyhow::anyhow!("--process {}: {}: {}", path.display(), e.path(), e.inner())
    })?;
    check(&p).with_context(|| format!("--process {}", path.display()))?;
    Ok(p)
}

fn check(p: &Process) -> Result<()> {
    if p.args().as_ref().is_none_or(|a| a.is_empty()) {
        bail!("process.args: must not be empty");
    }
    if !p.cwd().is_absolute() {
        bail!("process.cwd: must be absolute, got {}", p.cwd().display());
    }
    crate::spec::console_size(p)?;
    Ok(())
}

/// The container's process with the command line applied over it (runc's getProcess).
fn from_flags(mut p: Process, a: &Args) -> Result<Process> {
    if a.command.is_empty() {
        bail!("exec: no command given (pass it after the container ID, or use --process)");
    }
    p.set_args(Some(a.command.clone()));
    if let Some(cwd) = &a.cwd {
        if !cwd.starts_with('/') {
            bail!("--cwd {cwd}: must be an absolute path");
        }
        p.set_cwd(PathBuf::from(cwd));
    }
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &a.env {
        if !kv.contains('=') {
            bail!("--env {kv}: expected KEY=VALUE");
        }
        env.push(kv.clone());
    }
    p.set_env(Some(env));
    p.set_terminal(Some(a.tty));
    // The container's console size is for the init's terminal, not for this one.
    p.set_console_size(None);
    let mut user = p.user().clone();
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((uid, gid)) => (uid, Some(gid)),
            None => (u.as_str(), None),
        };
        user.set_uid(id_arg(u, "uid", uid)?);
        if let Some(gid) = gid {
            user.set_gid(id_arg(u, "gid", gid)?);
        }
    }
    if !a.additional_gids.is_empty() {
        let mut gids = user.additional_gids().clone().unwrap_or_default();
        gids.extend(&a.additional_gids);
        user.set_additional_gids(Some(gids));
    }
    p.set_user(user);
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(profile) = &a.apparmor {
        p.set_apparmor_profile(Some(profile.clone()));
    }
    if let Some(label) = &a.process_label {
        p.set_selinux_label(Some(label.clone()));
    }
    if !a.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        add_caps(&mut caps, &a.cap)?;
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}

/// --cap adds to the bounding, effective and permitted sets, never to the inheritable one
/// (CVE-2022-29162); ambient only when the config already has inheritable capabilities, since
/// the kernel raises an ambient capability only if it is inheritable too.
fn add_caps(caps: &mut LinuxCapabilities, names: &[String]) -> Result<()> {
    let mut parsed = Vec::new();
    for n in names {
        // oci-spec spells capabilities without the CAP_ prefix.
        let bare = n.strip_prefix("CAP_").unwrap_or(n);
        if !n.starts_with("CAP_") || crate::security::capabilities::parse(n).is_none() {
            bail!("--cap {n}: unknown capability (expected a name like CAP_NET_ADMIN)");
        }
        parsed.push(
            Capability::from_str(bare)
                .map_err(|_| anyhow::anyhow!("--cap {n}: unknown capability"))?,
        );
    }
    let add = |set: &Option<HashSet<Capability>>| -> Option<HashSet<Capability>> {
        let mut s = set.clone().unwrap_or_default();
        s.extend(parsed.iter().copied());
        Some(s)
    };
    caps.set_bounding(add(caps.bounding()));
    caps.set_effective(add(caps.effective()));
    caps.set_permitted(add(caps.permitted()));
    if caps.inheritable().as_ref().is_some_and(|i| !i.is_empty()) {
        caps.set_ambient(add(caps.ambient()));
    }
    Ok(())
}

/// A uid or gid of `--user`: a number up to 2^32-2, since (uid_t)-1 means "unchanged" to the
/// kernel.
fn id_arg(arg: &str, what: &str, v: &str) -> Result<u32> {
    const MAX: u64 = u32::MAX as u64 - 1;
    match v.parse::<u64>() {
        Ok(n) if n <= MAX => Ok(n as u32),
        Ok(n) => bail!("--user {arg}: {what} {n} is out of range 0 to {MAX}"),
        Err(_) => bail!("--user {arg}: {what} {v:?} is not a number from 0 to {MAX}"),
    }
}
