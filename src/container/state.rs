//! state.json: the runtime-spec state plus what hull needs to find the container again.
//! Written atomically and durably: a temp file, fsynced, renamed over state.json, and the dir
//! fsynced, so that a crash leaves the old state or the new one, never a torn or empty file.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// starttime (field 22 of /proc/<pid>/stat) of the init, to tell it from a recycled pid.
    pub init_start: u64,
    /// The container's cgroup, relative to the cgroup2 mount.
    pub cgroup: PathBuf,
    /// The same cgroup as an absolute directory, so that reading the state does not have to
    /// look for the cgroup2 mount in mountinfo again.
    #[serde(default)]
    pub cgroup_dir: PathBuf,
    /// The cgroup had processes of others when create joined it (a pod's, shared on purpose):
    /// hull never kills, freezes or removes it, only the container's own processes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cgroup_shared: bool,
    /// config.json as it was at create: later edits of the bundle have no effect.
    pub config: Value,
    /// True while `create` is still running (hooks that call `hull state` see `creating`).
    #[serde(default)]
    pub creating: bool,
    /// `create --no-new-keyring`: exec'd processes keep the caller's session keyring too.
    #[serde(default)]
    pub no_new_keyring: bool,
    /// `--systemd-cgroup`: the transient unit that is the container's cgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_unit: Option<String>,
    /// The uid whose systemd user manager owns `systemd_unit` (rootless); the system's if none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_user: Option<u32>,
}

impl State {
    /// Records `pid` as the container's init, with its start time (to tell it from a later
    /// process that reuses the pid).
    pub fn set_init(&mut self, pid: nix::unistd::Pid) {
        self.pid = pid.as_raw();
        self.init_start = proc_stat(self.pid).map(|(_, s)| s).unwrap_or(0);
    }

    pub fn read(dir: &Path) -> Result<State> {
        let path = dir.join(super::STATE_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        State::parse(&text, &path)
    }

    /// The state in `text`, read from `path` (named in the error).
    pub fn parse(text: &str, path: &Path) -> Result<State> {
        serde_json::from_str(text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        use std::io::Write;
        let tmp = dir.join(".state.json.tmp");
        let text = serde_json::to_vec(self).context("serialising state")?;
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(&text)
            .and_then(|()| f.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, dir.join(super::STATE_FILE))
            .context("renaming state.json into place")?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))
    }

    /// Derived from the real process, never stored: a dead or recycled init means `stopped`, the
    /// fifo means `created`, a frozen cgroup means `paused`.
    pub fn status(&self, dir: &Path) -> Status {
        if !self.init_alive() {
            return Status::Stopped;
        }
        if self.creating {
            return Status::Creating;
        }
        if dir.join(super::FIFO).exists() {
            return Status::Created;
        }
        if self.has_cgroup()
            && let Ok(cg) = self.cgroup_handle()
            && cg.frozen()
        {
            return Status::Paused;
        }
        Status::Running
    }

    /// The container's cgroup.
    pub fn cgroup_handle(&self) -> anyhow::Result<crate::cgroups::Cgroup> {
        if self.cgroup_dir.is_absolute() {
            return Ok(crate::cgroups::Cgroup {
                dir: self.cgroup_dir.clone(),
            });
        }
        crate::cgroups::Cgroup::at(&self.cgroup)
    }

    /// The systemd manager that owns the container's unit.
    pub fn systemd_manager(&self) -> crate::cgroups::systemd::Manager {
        match self.systemd_user {
            Some(uid) => crate::cgroups::systemd::Manager::User(uid),
            None => crate::cgroups::systemd::Manager::System,
        }
    }

    /// The container's session keyring, which create made and exec joins (None with
    /// --no-new-keyring).
    pub fn session_keyring(&self) -> Option<String> {
        (!self.no_new_keyring).then(|| format!("_ses.{}", self.id))
    }

    /// The container's cgroup, for an operation that kills, freezes or removes it: only after
    /// the recorded fields are checked to be a container cgroup inside the v2 mount.
    pub fn owned_cgroup(&self) -> anyhow::Result<crate::cgroups::Cgroup> {
        if !self.has_cgroup() {
            anyhow::bail!(
                "container {:?} has no cgroup (rootless, and no cgroup was delegated to its user): it cannot be frozen, listed, limited or measured",
                self.id
            );
        }
        crate::cgroups::Cgroup::recorded(&self.cgroup, &self.cgroup_dir)
    }

    /// False for a rootless container that runs without a cgroup (create found none it may
    /// make).
    pub fn has_cgroup(&self) -> bool {
        !self.cgroup.as_os_str().is_empty()
    }

    /// A pidfd of the init, or None when it is gone. The start time is checked after the pidfd
    /// is taken, so a pidfd returned here cannot refer to a recycled pid.
    pub fn init_pidfd(&self) -> Option<std::os::fd::OwnedFd> {
        let fd = crate::sys::pidfd_open(nix::unistd::Pid::from_raw(self.pid)).ok()?;
        self.init_alive().then_some(fd)
    }

    pub fn init_alive(&self) -> bool {
        self.pid > 0
            && matches!(proc_stat(self.pid), Some((state, start)) if start == self.init_start && state != 'Z' && state != 'X')
    }

    /// The row `list` shows for a container whose state.json cannot be read.
    pub fn unreadable(id: &str) -> Public {
        Public {
            oci_version: String::new(),
            id: id.to_string(),
            pid: 0,
            status: "error",
            bundle: PathBuf::new(),
            rootfs: PathBuf::new(),
            created: String::new(),
            annotations: BTreeMap::new(),
            owner: String::new(),
        }
    }

    /// What `state` and `list` print, in runc's key order.
    pub fn summary(&self, status: Status) -> Public {
        Public {
            oci_version: self.oci_version.clone(),
            id: self.id.clone(),
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status: status.as_str(),
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            annotations: self.annotations.clone(),
            owner: self.owner.clone(),
        }
    }

    /// The runtime-spec state object that hooks receive on stdin.
    pub fn public(&self, status: Status) -> Value {
        // Only a path that is not UTF-8 could fail here, and state.json, written with the same
        // paths, could not have been.
        serde_json::to_value(self.summary(status)).unwrap_or_default()
    }
}

/// The state as `state` and `list --format json` print it: runc's containerState, whose
/// field order is its JSON's key order (scripts read it as text).
#[derive(Debug, Serialize)]
pub struct Public {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: &'static str,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    pub owner: String,
}

/// (state letter, starttime) of a process from /proc/<pid>/stat.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces and parentheses: the fields resume after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    // starttime is field 22 overall, i.e. the 20th after state.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}
