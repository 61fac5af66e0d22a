//! A container as the runtime sees it between commands: its state dir, lock and derived status.

pub mod events;
pub mod exec;
pub mod fault;
pub mod id;
mod lock;
pub mod recover;
pub mod rootless;
pub mod state;
mod update;

pub use state::{State, Status};

use anyhow::{Context, Result, bail};
use lock::lock_dir;
use nix::fcntl::Flock;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The state root when neither `--root` nor rootless says otherwise (container::rootless).
pub const DEFAULT_ROOT: &str = "/run/hull";
pub const STATE_FILE: &str = "state.json";
pub const FIFO: &str = "exec.fifo";
/// Made exclusively by the create that owns the state dir (`NewDir::take`).
const CLAIM: &str = "claim";

/// A locked container state dir. The flock is held until this value is dropped, so commands on
/// one ID are serialized.
pub struct Container {
    pub dir: PathBuf,
    pub state: State,
    _lock: Flock<File>,
}

impl Container {
    /// Loads and locks an existing container.
    pub fn load(root: &Path, id: &str) -> Result<Container> {
        id::validate(id)?;
        let dir = root.join(id);
        let Some(lock) = lock_dir(&dir)? else {
            bail!("container {id:?} does not exist");
        };
        let state = read_state(&dir, id)?;
        Ok(Container {
            dir,
            state,
            _lock: lock,
        })
    }

    /// Reads a container without taking the lock (for `state` and `list`, which hooks may call
    /// while create holds the lock).
    pub fn peek(root: &Path, id: &str) -> Result<State> {
        id::validate(id)?;
        let dir = root.join(id);
        if !dir.is_dir() {
            bail!("container {id:?} does not exist");
        }
        read_state(&dir, id)
    }

    pub fn status(&self) -> Status {
        self.state.status(&self.dir)
    }
}

/// `delete --force`: whatever is there goes. An unknown ID is not an error (runc). The lock
/// is taken first, so a create still running is waited for. A dir that a dead create left
/// without state.json, or whose state.json cannot be read, is cleared through the record of
/// its cgroup (`recover`).
pub fn delete_forced(root: &Path, id: &str) -> Result<()> {
    id::validate(id)?;
    let dir = root.join(id);
    let Some(lock) = lock_dir(&dir)? else {
        return Ok(());
    };
    if !dir.join(STATE_FILE).exists() {
        return recover::remove_incomplete(&dir);
    }
    match read_state(&dir, id) {
        Ok(state) => Container {
            dir,
            state,
            _lock: lock,
        }
        .delete(true),
        Err(e) => recover::remove_unreadable(&dir, &e),
    }
}

/// A dir without state.json is a create in progress (or one that died): it does not exist yet.
/// A state.json that does not parse is reported as such, not as a missing container.
fn read_state(dir: &Path, id: &str) -> Result<State> {
    if !dir.join(STATE_FILE).exists() {
        bail!("container {id:?} does not exist");
    }
    State::read(dir).with_context(|| format!("container {id:?} has an unreadable state"))
}

/// Takes a new state dir atomically (mkdir) and locks it. Dropping the returned guard without
/// `keep()` removes the dir again, so a failed create leaves nothing behind.
pub struct NewDir {
    pub dir: PathBuf,
    lock: Option<Flock<File>>,
    keep: bool,
}

impl NewDir {
    pub fn take(root: &Path, id: &str) -> Result<NewDir> {
        id::validate(id)?;
        std::fs::create_dir_all(root)
            .with_context(|| format!("creating state root {}", root.display()))?;
        let dir = root.join(id);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                bail!("container {id:?} already exists")
            }
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
        // 0711: a container user (possibly an unprivileged uid) must reach exec.fifo, and
        // nobody else may list the directory.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711));
        // Locked before the guard exists: if a racing `delete -f` removed the dir first, the
        // path is no longer ours to remove.
        let Some(lock) = lock_dir(&dir)? else {
            bail!("container {id:?} was deleted while it was being created");
        };
        // Nor is the dir now at the path necessarily the one we made: a `delete -f` may have
        // removed ours before we locked it, and another create made a new one. Whoever claims
        // it first (an exclusive file) creates in it; the other must neither use nor remove it.
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(CLAIM))
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                bail!("container {id:?} already exists")
            }
            Err(e) => return Err(e).with_context(|| format!("claiming {}", dir.display())),
        }
        Ok(NewDir {
            dir,
            lock: Some(lock),
            keep: false,
        })
    }

    /// In the process cloned from create (the init): closes its copy of the lock's fd and
    /// forgets the guard. An flock belongs to the open file description, which create still
    /// holds, so this must not unlock it; and an init that kept the copy would keep the ID
    /// locked for as long as it lives, even after create died.
    pub fn disown(mut self) {
        if let Some(lock) = self.lock.take() {
            let fd = lock.as_raw_fd();
            std::mem::forget(lock);
            let _ = nix::unistd::close(fd);
        }
        self.keep = true;
    }

    /// Turns the guard into a loaded container once state.json is written.
    pub fn keep(mut self, state: State) -> Container {
        self.keep = true;
        Container {
            dir: self.dir.clone(),
            state,
            _lock: self.lock.take().expect("the lock is taken in NewDir::take"),
        }
    }
}

impl Drop for NewDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// All container IDs under the state root.
pub fn list_ids(root: &Path) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    match std::fs::read_dir(root) {
        Ok(rd) => {
            for e in rd.flatten() {
                if e.path().join(STATE_FILE).exists()
                    && let Some(n) = e.file_name().to_str()
                {
                    ids.push(n.to_string());
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", root.display())),
    }
    ids.sort();
    Ok(ids)
}

pub mod create;
pub mod lifecycle;
