//! What `delete --force` can still do when state.json is missing (a create that died early) or
//! cannot be read (a crash mid-write, an edit by hand): find the container through the record
//! of its cgroup that `create` writes before it makes the cgroup, kill what runs there and
//! remove what create made.
//!
//! The record is a small file of its own, not part of state.json: it exists before anything it
//! describes does, and a damaged state.json cannot take it along.

use crate::cgroups::Cgroup;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::time::Duration;

const RECORD: &str = "cgroup";

/// Whose the cgroup is: `Made` when create made it (it found no directory there), `Joined`
/// when it already existed (an engine's, or one given by an absolute cgroupsPath), in which
/// case hull never removes it on its own say, and `Shared` when it also had processes (a pod's,
/// shared on purpose), in which case hull never kills them either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Made,
    Joined,
    Shared,
}

/// Called by create before it makes the cgroup: written first, so that whatever create leaves
/// behind when it is killed, the record of it is there. Written to a temp file and renamed,
/// so that it is whole or absent. (No fsync: a cgroup does not outlive a reboot either.)
/// With `--systemd-cgroup`, the unit that will own the cgroup is recorded on a third line (and
/// the uid of its user manager, for a rootless one, on a fourth).
pub fn record_cgroup(
    state_dir: &Path,
    cgroup: &Cgroup,
    unit: Option<&crate::cgroups::systemd::Unit>,
) -> Result<Origin> {
    let origin = if !cgroup.exists() {
        Origin::Made
    } else if unit.is_none() && !cgroup.procs()?.is_empty() {
        Origin::Shared
    } else {
        Origin::Joined
    };
    let word = match origin {
        Origin::Made => "made",
        Origin::Joined => "joined",
        Origin::Shared => "shared",
    };
    let tmp = state_dir.join(".cgroup.tmp");
    use crate::cgroups::systemd::Manager;
    let unit = match unit {
        Some(u) => match u.manager {
            Manager::System => format!("{}\n", u.name),
            Manager::User(uid) => format!("{}\n{uid}\n", u.name),
        },
        None => String::new(),
    };
    std::fs::write(&tmp, format!("{}\n{word}\n{unit}", cgroup.dir.display()))
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, state_dir.join(RECORD))
        .with_context(|| format!("recording the cgroup in {}", state_dir.display()))?;
    Ok(origin)
}

/// What the record says.
struct Record {
    /// None when the path is not one create could have made: then the cgroup is not ours.
    cgroup: Option<Cgroup>,
    origin: Origin,
    /// The systemd unit that owns the cgroup, and whose manager runs it.
    unit: Option<(String, crate::cgroups::systemd::Manager)>,
}

impl Record {
    fn cgroup(self) -> Option<(Cgroup, Origin)> {
        Some((self.cgroup?, self.origin))
    }
}

fn read_record(state_dir: &Path) -> Option<Record> {
    let text = std::fs::read_to_string(state_dir.join(RECORD)).ok()?;
    let mut lines = text.lines();
    let dir = PathBuf::from(lines.next()?);
    let origin = match lines.next()? {
        "made" => Origin::Made,
        "joined" => Origin::Joined,
        "shared" => Origin::Shared,
        _ => return None,
    };
    let unit = lines
        .next()
        .filter(|u| crate::cgroups::systemd::unit::is_unit_name(u))
        .map(|unit| {
            use crate::cgroups::systemd::Manager;
            let manager = match lines.next().and_then(|l| l.parse().ok()) {
                Some(uid) => Manager::User(uid),
                None => Manager::System,
            };
            (unit.to_string(), manager)
        });
    // Only what create could have made: a clean path below the cgroup2 mount's root, checked
    // as state.json's record is (Cgroup::recorded). A record that says otherwise is not ours.
    let cgroup = crate::cgroups::mountpoint().ok().and_then(|root| {
        let path = Path::new("/").join(dir.strip_prefix(&root).ok()?);
        Cgroup::recorded(&path, &dir).ok()
    });
    Some(Record {
        cgroup,
        origin,
        unit,
    })
}

/// systemd's unit goes first: stopping it kills what is in it and removes its cgroup.
fn stop_unit(record: Option<&Record>) {
    if let Some((unit, manager)) = record.and_then(|r| r.unit.as_ref()) {
        let _ = crate::cgroups::systemd::stop(unit, *manager);
    }
}

/// A dir without state.json (the caller holds its lock): create died before it cloned the init
/// or just after. Removes the cgroup create made (its init, if any, dies with create: it is
/// killed so that the cgroup can go), then the dir. A cgroup create did not make is left alone.
pub fn remove_incomplete(dir: &Path) -> Result<()> {
    let record = read_record(dir);
    stop_unit(record.as_ref());
    if let Some((cg, Origin::Made)) = record.and_then(Record::cgroup) {
        cg.remove()?;
    }
    remove_dir(dir)
}

/// A dir whose state.json cannot be read (the caller holds its lock): the container's processes
/// are those in its recorded cgroup. They are killed, the cgroup is removed if create made it,
/// then the dir. Without a record the processes cannot be found: fail and keep the dir.
pub fn remove_unreadable(dir: &Path, cause: &anyhow::Error) -> Result<()> {
    let id = dir.file_name().unwrap_or_default().to_string_lossy();
    let record = read_record(dir);
    stop_unit(record.as_ref());
    match record.and_then(Record::cgroup) {
        Some((cg, Origin::Made)) => cg.remove()?,
        Some((cg, Origin::Joined)) => {
            cg.kill_all()?;
            wait_empty(&cg)?;
        }
        Some((cg, Origin::Shared)) => bail!(
            "{cause:#}; and the container's cgroup {} holds processes of others, so its own cannot be told apart: keeping {} (remove it by hand once they are gone)",
            cg.dir.display(),
            dir.display()
        ),
        None => bail!(
            "{cause:#}; and {} has no record of the container's cgroup, so its processes cannot be found: keeping it (remove it by hand once they are gone)",
            dir.display()
        ),
    }
    crate::logging::warn(&format!(
        "container {id:?}: {cause:#}; killed the processes of its cgroup and removed it"
    ));
    remove_dir(dir)
}

fn wait_empty(cg: &Cgroup) -> Result<()> {
    for _ in 0..500 {
        if cg.procs()?.is_empty() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    bail!("cgroup {} still has processes after kill", cg.dir.display())
}

/// Removes a state dir; one that a racing delete removed first is not an error.
pub fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}
