//! A container as the runtime sees it between commands: its state dir, lock and derived status.

pub mod fault;
pub mod id;
pub mod state;

pub use state::{State, Status};

use anyhow::{Context, Result, bail};
use nix::fcntl::{Flock, FlockArg, OFlag, open};
use nix::sys::stat::Mode;
use std::fs::File;
use std::path::{Path, PathBuf};

pub const STATE_FILE: &str = "state.json";
pub const FIFO: &str = "exec.fifo";

/// A locked container state dir. The flock is held until this value is dropped, so commands on
/// one ID are serialized.
pub struct Container {
    pub dir: PathBuf,
    pub state: State,
    _lock: Flock<File>,
}

/// Locks the state dir of `id`; a dir that vanished before it could be opened (a concurrent
/// delete won) is a container that does not exist.
fn lock_existing(dir: &Path, id: &str) -> Result<Flock<File>> {
    lock_dir(dir).map_err(|e| {
        if e.root_cause().downcast_ref::<nix::Error>() == Some(&nix::Error::ENOENT) {
            anyhow::anyhow!("container {id:?} does not exist")
        } else {
            e
        }
    })
}

fn lock_dir(dir: &Path) -> Result<Flock<File>> {
    let fd = open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", dir.display()))?;
    Flock::lock(File::from(fd), FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .with_context(|| format!("locking {}", dir.display()))
}

impl Container {
    /// Loads and locks an existing container.
    pub fn load(root: &Path, id: &str) -> Result<Container> {
        id::validate(id)?;
        let dir = root.join(id);
        if !dir.is_dir() {
            bail!("container {id:?} does not exist");
        }
        let lock = lock_existing(&dir, id)?;
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

/// `delete --force` of an ID without a readable container: succeeds (runc), clearing a dir that
/// a dead create left. The lock is taken first, so a create still running is waited for and then
/// found complete (Ok(false): not removed, load it instead) or gone.
pub fn remove_incomplete(root: &Path, id: &str) -> Result<bool> {
    id::validate(id)?;
    let dir = root.join(id);
    if !dir.is_dir() {
        return Ok(true);
    }
    let _lock = match lock_existing(&dir, id) {
        Ok(l) => l,
        Err(_) if !dir.exists() => return Ok(true),
        Err(e) => return Err(e),
    };
    if dir.join(STATE_FILE).exists() {
        return Ok(false);
    }
    match std::fs::remove_dir_all(&dir) {
        // A concurrent delete removed it while this one waited for the lock.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        r => r.with_context(|| format!("removing {}", dir.display()))?,
    }
    Ok(true)
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
        let mut guard = NewDir {
            dir: dir.clone(),
            lock: None,
            keep: false,
        };
        guard.lock = Some(lock_dir(&dir)?);
        Ok(guard)
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
