//! The per-container lock: an flock on the state dir, which serializes the commands on one ID.
//!
//! The wait is bounded: a holder that never lets go (a stuck hook, a stopped process) makes the
//! command fail with a message naming it, never hang. An flock belongs to the open file
//! description, so every copy of the fd holds it: a process cloned while the lock is held gets
//! a copy and must close it (`NewDir::disown`), or it would keep the ID locked after its parent
//! died.

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag, open};
use nix::sys::stat::{Mode, fstat, stat};
use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a command waits for another one on the same ID. A create holds the lock for its
/// whole run, hooks included, which takes well under a second unless a hook is slow.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Locks `dir`. None when the dir does not exist, or was removed (or replaced by a new create
/// of the same ID) while we waited: the lock would then guard nothing.
pub fn lock_dir(dir: &Path) -> Result<Option<Flock<File>>> {
    let fd = match open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("opening {}", dir.display())),
    };
    let mut file = File::from(fd);
    let deadline = Instant::now() + LOCK_WAIT;
    let mut pause = Duration::from_micros(100);
    let lock = loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => break lock,
            Err((f, Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                file = f;
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err((f, Errno::EWOULDBLOCK)) => {
                let id = dir.file_name().unwrap_or_default().to_string_lossy();
                let holder = holder(&f)
                    .map(|p| format!(" (pid {p})"))
                    .unwrap_or_default();
                bail!(
                    "container {id:?} is locked by another hull command{holder} that has not finished in {} s",
                    LOCK_WAIT.as_secs()
                )
            }
            Err((_, e)) => return Err(e).with_context(|| format!("locking {}", dir.display())),
        }
    };
    let same = match (fstat(&*lock), stat(dir)) {
        (Ok(a), Ok(b)) => (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino),
        _ => false,
    };
    Ok(same.then_some(lock))
}

/// The pid that took the flock on `f`'s inode, from /proc/locks (for the error message only).
fn holder(f: &File) -> Option<i32> {
    let ino = fstat(f).ok()?.st_ino;
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    // "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"
    locks.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let ours = f.get(1) == Some(&"FLOCK")
            && f.get(5)
                .and_then(|d| d.rsplit(':').next())
                .and_then(|i| i.parse::<u64>().ok())
                == Some(ino);
        ours.then(|| f.get(4)?.parse().ok()).flatten()
    })
}
