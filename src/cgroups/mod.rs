//! cgroup v2, the only cgroup version hull manages.
//!
//! On a hybrid host (v1 controllers plus a v2 mount without them) hull still creates its cgroup
//! in the v2 hierarchy: that is enough to track, freeze and kill the container. A resource limit
//! whose controller is missing there is refused with an error, never dropped.

pub mod cpu;
pub mod devices;
mod fs;
pub mod io;
pub mod memory;
pub mod misc;
pub mod resources;
pub mod stats;
pub mod systemd;
pub mod unified;

use anyhow::{Context, Result, bail};
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

/// Every requested limit this host's cgroup v2 hierarchy cannot enforce, as (config field,
/// reason), in the order of `resources::requirements`: create refuses the first (`prepare`),
/// `hull check` reports them all.
pub fn unavailable(
    res: Option<&oci_spec::runtime::LinuxResources>,
) -> Result<Vec<(String, String)>> {
    let needed = resources::requirements(res);
    if needed.is_empty() {
        return Ok(Vec::new());
    }
    let root = mountpoint()?;
    let available = root_controllers(&root);
    let hybrid = root != Path::new("/sys/fs/cgroup");
    // The hybrid v2 root is the host's own: hull never changes its subtree_control, so a limit
    // needs its controller enabled there already.
    let enabled = match hybrid {
        true => read_controllers(&root.join("cgroup.subtree_control")),
        false => Vec::new(),
    };
    let mut out = Vec::new();
    for (c, field) in needed {
        let why = if !available.iter().any(|a| a == c) {
            match hybrid {
                true => format!(
                    "the {c} controller is missing from cgroup v2 ({}): this host mounts cgroups in hybrid mode, where the v1 hierarchies keep {c} and v2 has only what they left ({}), and hull manages cgroup v2 only — the limit cannot be enforced",
                    root.display(),
                    if available.is_empty() {
                        "nothing".to_string()
                    } else {
                        available.join(" ")
                    }
                ),
                false => format!(
                    "the {c} controller is not available in this host's cgroup v2 hierarchy ({}) — the limit cannot be enforced",
                    root.display()
                ),
            }
        } else if hybrid && !enabled.iter().any(|e| e == c) {
            format!(
                "the {c} controller is not enabled in {}/cgroup.subtree_control, and hull does not change a hybrid host's cgroup hierarchy — the limit cannot be enforced",
                root.display()
            )
        } else {
            continue;
        };
        out.push((field, why));
    }
    Ok(out)
}

/// Where the cgroup2 filesystem is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on a
/// hybrid host). Asked several times per command, answered once.
pub fn mountpoint() -> Result<PathBuf> {
    static FOUND: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    if let Some(p) = FOUND.get() {
        return Ok(p.clone());
    }
    let found = match usual_mountpoint() {
        Some(p) => p,
        None => mountpoint_from_mountinfo()?,
    };
    Ok(FOUND.get_or_init(|| found).clone())
}

/// The two usual places, checked with statfs and stat: a few microseconds, where the kernel's
/// rendering of mountinfo costs about a tenth of a millisecond of every `exec`.
fn usual_mountpoint() -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .map(Path::new)
        .find(|p| {
            let cgroup2 = nix::sys::statfs::statfs(*p)
                .is_ok_and(|f| f.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
            // A mount point: its device differs from its parent's.
            let dev = |p: &Path| std::fs::metadata(p).map(|m| m.dev()).ok();
            cgroup2 && dev(p).is_some_and(|d| Some(d) != p.parent().and_then(dev))
        })
        .map(Path::to_path_buf)
}

/// The first cgroup2 mount in this process's mountinfo.
fn mountpoint_from_mountinfo() -> Result<PathBuf> {
    let info =
        std::fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    for line in info.lines() {
        // "... mountpoint opts ... - fstype source superopts"
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        if right.split(' ').next() == Some("cgroup2")
            && let Some(mp) = left.split(' ').nth(4)
        {
            return Ok(PathBuf::from(unescape(mp)));
        }
    }
    bail!("no cgroup2 filesystem is mounted on this host (hull manages cgroup v2 only)")
}

/// A mountinfo field as the kernel escapes it (space, tab, newline, backslash).
pub(crate) fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// This process's cgroup directory: where a rootless container without a cgroup of its own
/// shows its processes, and what its `/sys/fs/cgroup` binds.
pub fn own_dir() -> Result<PathBuf> {
    let own = own_cgroup()?;
    Ok(mountpoint()?.join(own.strip_prefix("/").unwrap_or(&own)))
}

/// Whether creating or writing a cgroup failed for want of permission (a rootless caller
/// outside any subtree delegated to it).
pub fn is_denied(e: &anyhow::Error) -> bool {
    let denied = |n: Option<i32>| matches!(n, Some(libc::EACCES | libc::EPERM | libc::EROFS));
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| denied(io.raw_os_error()))
            || c.downcast_ref::<nix::errno::Errno>()
                .is_some_and(|n| denied(Some(*n as i32)))
    })
}

/// This process's cgroup v2 path (the `0::` line of /proc/self/cgroup), read once per process
/// (create asks several times; hull never moves itself).
fn own_cgroup() -> Result<PathBuf> {
    static OWN: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    OWN.get_or_init(|| read_own_cgroup().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow::anyhow!(e))
}

fn read_own_cgroup() -> Result<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(PathBuf::from)
        .context("/proc/self/cgroup has no cgroup v2 entry")
}

/// Lexically cleans a path and makes it absolute, so that `..` can never climb above the
/// hierarchy's root.
fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// runc's fs2 rules for `linux.cgroupsPath`: absolute paths are taken from the hierarchy root;
/// relative and empty ones go under the parent of hull's own cgroup (the own cgroup already has
/// processes, so controllers could not be enabled below it).
///
/// The root and the cgroups that hold hull itself are refused: a container there would share
/// them with the host, and its delete would kill whatever else lives in them.
pub fn container_path(cgroups_path: Option<&Path>, id: &str) -> Result<PathBuf> {
    let path = resolve_path(cgroups_path, id)?;
    refuse_shared(&path, cgroups_path.unwrap_or(Path::new("")))?;
    Ok(path)
}

/// Refuses the root and the cgroups that hold hull itself, for `given` (the cgroupsPath as the
/// config spells it) resolved to `path`.
pub fn refuse_shared(path: &Path, given: &Path) -> Result<()> {
    if path == Path::new("/") {
        bail!(
            "linux.cgroupsPath: {given:?} resolves to the root of the cgroup hierarchy, which a container cannot own"
        );
    }
    let own = own_cgroup()?;
    if own.starts_with(path) {
        bail!(
            "linux.cgroupsPath: {given:?} resolves to {}, which holds hull's own cgroup {}",
            path.display(),
            own.display()
        );
    }
    Ok(())
}

fn resolve_path(cgroups_path: Option<&Path>, id: &str) -> Result<PathBuf> {
    match cgroups_path {
        Some(p) if p.is_absolute() => Ok(clean(p)),
        other => {
            let own = own_cgroup()?;
            let parent = own.parent().unwrap_or(Path::new("/")).to_path_buf();
            let rel = match other {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from(id),
            };
            // Clean the relative part on its own so that it cannot climb above `parent`.
            let rel = clean(&rel);
            Ok(clean(&parent.join(rel.strip_prefix("/").unwrap_or(&rel))))
        }
    }
}

/// A container's cgroup directory.
#[derive(Debug, Clone)]
pub struct Cgroup {
    /// Absolute directory, e.g. /sys/fs/cgroup/hull/abc.
    pub dir: PathBuf,
}

impl Cgroup {
    /// The cgroup at `path` (relative to the hierarchy root), which may not exist.
    pub fn at(path: &Path) -> Result<Cgroup> {
        let root = mountpoint()?;
        Ok(Cgroup {
            dir: root.join(path.strip_prefix("/").unwrap_or(path)),
        })
    }

    /// Creates the directory (and parents), enabling in each parent the controllers that the
    /// requested resources need. Fails, naming the field, if the config asks for what cgroup v2
    /// cannot express or this host cannot enforce, and if the cgroup is frozen (the init would
    /// freeze before it could report, runc's refusal). One that already has processes is
    /// joined (runc 1.1 warns; container::create does). Every directory this call made is
    /// pushed to `made`, parents first, even when it fails: the caller's cleanup removes those
    /// and nothing else.
    pub fn create(
        &self,
        res: Option<&oci_spec::runtime::LinuxResources>,
        made: &mut Vec<PathBuf>,
    ) -> Result<()> {
        self.prepare(res, Some(made))?;
        if self.frozen() {
            bail!(
                "linux.cgroupsPath: container's cgroup {} is unexpectedly frozen",
                self.dir.display()
            );
        }
        Ok(())
    }

    /// Whether a rootless caller may make the cgroup and put the init in it: the nearest
    /// directory on its path that exists is writable, and so is the cgroup.procs of the
    /// closest cgroup that holds both it and hull's own (the kernel's rule for moving a
    /// process: a delegated subtree only works for a caller that runs inside it).
    pub fn may_create(&self) -> Result<()> {
        let denied = |p: &Path| {
            nix::unistd::access(p, nix::unistd::AccessFlags::W_OK).with_context(|| {
                format!(
                    "{} is not writable by uid {}",
                    p.display(),
                    nix::unistd::geteuid()
                )
            })
        };
        let mut dir = self.dir.as_path();
        while !dir.exists() {
            dir = dir.parent().unwrap_or(Path::new("/"));
        }
        denied(dir)?;
        let own = own_dir()?;
        let mut common = self.dir.as_path();
        while !own.starts_with(common) {
            common = common.parent().unwrap_or(Path::new("/"));
        }
        denied(&common.join("cgroup.procs")).with_context(|| {
            format!(
                "hull runs in {}, outside the subtree: it could not move the container there",
                own.display()
            )
        })
    }

    /// The systemd driver's half of `create`, before the unit exists: the resources are valid
    /// and every controller they need is available at the root (systemd enables them on the
    /// way down to a delegated unit; `check_leaf` confirms it once the unit is there).
    pub fn check(&self, res: Option<&oci_spec::runtime::LinuxResources>) -> Result<()> {
        if let Some(r) = res {
            resources::validate(r)?;
        }
        if let Some((field, why)) = unavailable(res)?.into_iter().next() {
            bail!("{field}: {why}");
        }
        Ok(())
    }

    /// Every controller the resources need is enabled for this cgroup.
    pub fn check_leaf(&self, res: Option<&oci_spec::runtime::LinuxResources>) -> Result<()> {
        let have = read_controllers(&self.dir.join("cgroup.controllers"));
        for (c, field) in resources::requirements(res) {
            if !have.iter().any(|h| h == c) {
                bail!(
                    "{field}: the {c} controller could not be enabled for {} (a parent cgroup may hold processes)",
                    self.dir.display()
                );
            }
        }
        Ok(())
    }

    /// Before `update`: checks the new resources and enables controllers a new limit needs.
    pub fn prepare_update(&self, res: &oci_spec::runtime::LinuxResources) -> Result<()> {
        self.prepare(Some(res), None)
    }

    fn prepare(
        &self,
        res: Option<&oci_spec::runtime::LinuxResources>,
        mut made: Option<&mut Vec<PathBuf>>,
    ) -> Result<()> {
        if let Some(r) = res {
            resources::validate(r)?;
        }
        if let Some((field, why)) = unavailable(res)?.into_iter().next() {
            bail!("{field}: {why}");
        }
        let root = mountpoint()?;
        let needed = resources::requirements(res);
        let available = root_controllers(&root);
        // On a pure v2 host every available controller is enabled on the way down, as runc
        // does, so that statistics (memory.current, pids.current...) exist for every container.
        // On a hybrid host the v2 root belongs to the host's setup: only what a limit needs.
        let wanted: Vec<String> = if root == Path::new("/sys/fs/cgroup") {
            available.clone()
        } else {
            needed.iter().map(|(c, _)| c.to_string()).collect()
        };
        let rel = self
            .dir
            .strip_prefix(&root)
            .unwrap_or(Path::new(""))
            .to_path_buf();
        let hybrid = root != Path::new("/sys/fs/cgroup");
        let mut cur = root.clone();
        for comp in rel.components() {
            let host_root = hybrid && cur == root;
            if !wanted.is_empty() && !host_root {
                enable_controllers(&cur, &wanted);
            }
            cur.push(comp);
            let Some(made) = made.as_deref_mut() else {
                continue;
            };
            match std::fs::create_dir(&cur) {
                Ok(()) => made.push(cur.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("creating cgroup {}", cur.display()));
                }
            }
        }
        // Enabling can fail (a parent that holds processes, a threaded subtree): say which
        // limit that breaks rather than failing later on a missing file.
        self.check_leaf(res)
    }

    /// Resource statistics in runc's `events --stats` shape.
    pub fn stats(&self) -> stats::Stats {
        stats::stats(&self.dir)
    }

    /// Controllers whose statistics `stats` leaves out, since the cgroup does not have them.
    pub fn stats_missing(&self) -> Vec<&'static str> {
        stats::missing(&self.dir)
    }

    /// Writes the resources and the device filter into the new cgroup. Rootless, the kernel
    /// lets no one but root load a device filter: the rules are then accepted only where they
    /// would change nothing (devices::check_unenforced), as without a cgroup.
    pub fn apply(
        &self,
        res: Option<&oci_spec::runtime::LinuxResources>,
        rootless: bool,
        linux: Option<&oci_spec::runtime::Linux>,
    ) -> Result<()> {
        if !rootless {
            return resources::apply(&self.dir, res);
        }
        if let Some(r) = res {
            resources::apply_limits(&self.dir, r)?;
        }
        devices::check_unenforced(
            res.and_then(|r| r.devices().as_deref()),
            linux.and_then(|l| l.devices().as_deref()).unwrap_or(&[]),
        )
    }

    /// `update`: rewrites the limits of a live cgroup (the device filter stays as created).
    pub fn update(&self, res: &oci_spec::runtime::LinuxResources) -> Result<()> {
        if let Some(m) = res.memory() {
            memory::check_usage(&self.dir, m)?;
        }
        resources::apply_limits(&self.dir, res)
    }

    /// An fd of the directory for clone3's CLONE_INTO_CGROUP.
    pub fn open_dir(&self) -> Result<OwnedFd> {
        open(
            &self.dir,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("opening cgroup {}", self.dir.display()))
    }

    pub fn exists(&self) -> bool {
        self.dir.is_dir()
    }

    pub fn procs(&self) -> Result<Vec<i32>> {
        let path = self.dir.join("cgroup.procs");
        match std::fs::read_to_string(&path) {
            Ok(t) => Ok(t.lines().filter_map(|l| l.trim().parse().ok()).collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// The processes of the cgroup and of every cgroup below it (a container may create
    /// sub-cgroups if it is delegated its own).
    pub fn all_procs(&self) -> Result<Vec<i32>> {
        let mut pids = self.procs()?;
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    pids.extend(Cgroup { dir: e.path() }.all_procs()?);
                }
            }
        }
        Ok(pids)
    }

    pub fn freeze(&self, frozen: bool) -> Result<()> {
        let path = self.dir.join("cgroup.freeze");
        std::fs::write(&path, if frozen { "1" } else { "0" })
            .with_context(|| format!("writing {}", path.display()))?;
        // The write returns before every task is frozen; cgroup.events says when it is done.
        for _ in 0..1000 {
            if self.frozen() == frozen {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        bail!(
            "cgroup {} did not reach frozen={frozen}",
            self.dir.display()
        )
    }

    /// Whether the cgroup is frozen (cgroup.events `frozen 1`).
    pub fn frozen(&self) -> bool {
        std::fs::read_to_string(self.dir.join("cgroup.events"))
            .map(|t| t.lines().any(|l| l == "frozen 1"))
            .unwrap_or(false)
    }

    /// SIGKILLs every process in the cgroup (cgroup.kill, Linux 5.14+).
    pub fn kill_all(&self) -> Result<()> {
        let path = self.dir.join("cgroup.kill");
        if path.exists() {
            return std::fs::write(&path, "1")
                .with_context(|| format!("writing {}", path.display()));
        }
        for pid in self.procs()? {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        Ok(())
    }

    /// Refuses a recorded cgroup (state.json's `cgroup` and `cgroup_dir`) that is not one
    /// create could have made: the directory must be the v2 mount joined with the clean,
    /// non-root relative path (a state without `cgroup_dir`, from an older hull, is given the
    /// one the path names). Nothing is killed, frozen or removed through a record that fails.
    pub fn recorded(path: &Path, dir: &Path) -> Result<Cgroup> {
        let root = mountpoint()?;
        let clean_path = clean(path);
        let expect = root.join(clean_path.strip_prefix("/").unwrap_or(&clean_path));
        if !path.is_absolute()
            || clean_path != path
            || clean_path == Path::new("/")
            || (expect != dir && !dir.as_os_str().is_empty())
        {
            bail!(
                "state.json: cgroup {} / {} is not a container cgroup inside the cgroup v2 mount {} as create records it; refusing to touch it",
                path.display(),
                dir.display(),
                root.display()
            );
        }
        Ok(Cgroup { dir: expect })
    }

    /// Kills what is left and removes the directory; waits for the kernel to empty it.
    pub fn remove(&self) -> Result<()> {
        if !self.exists() {
            return Ok(());
        }
        let mut killed = false;
        // The kernel empties a killed cgroup within microseconds to milliseconds: back off from
        // 50 µs to 2 ms, about 4 s in all.
        let mut pause = std::time::Duration::from_micros(50);
        for _ in 0..2000 {
            match std::fs::remove_dir(&self.dir) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    if !killed {
                        self.kill_all()?;
                        // A frozen cgroup cannot die; thaw it so the kill lands.
                        let _ = std::fs::write(self.dir.join("cgroup.freeze"), "0");
                        killed = true;
                    }
                    // Sub-cgroups made inside the container's (by its processes, or for
                    // `exec --cgroup`) are the container's too, and keep it from going: the
                    // kill emptied them as well.
                    remove_descendants(&self.dir);
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(2));
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("removing cgroup {}", self.dir.display()));
                }
            }
        }
        bail!(
            "cgroup {} still has processes after kill",
            self.dir.display()
        )
    }
}

/// Removes every cgroup below `dir`, deepest first, as far as they are empty (cgroupfs holds
/// only directories and the kernel's files, never symlinks).
fn remove_descendants(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_descendants(&e.path());
            let _ = std::fs::remove_dir(e.path());
        }
    }
}

/// The controllers of the v2 hierarchy's root, read once per process: the kernel's list, which
/// nothing hull does changes.
fn root_controllers(root: &Path) -> Vec<String> {
    static ROOT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| read_controllers(&root.join("cgroup.controllers")))
        .clone()
}

fn read_controllers(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|t| t.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

/// Enables controllers in `dir`'s cgroup.subtree_control (skipping those already enabled).
/// All at once, else one by one; failures are left to the check of the leaf's
/// cgroup.controllers, which names the limit that needs the controller.
fn enable_controllers(dir: &Path, wanted: &[String]) {
    let enabled = read_controllers(&dir.join("cgroup.subtree_control"));
    let missing: Vec<String> = wanted
        .iter()
        .filter(|c| !enabled.iter().any(|e| e == *c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return;
    }
    let path = dir.join("cgroup.subtree_control");
    if std::fs::write(&path, missing.join(" ")).is_err() {
        for m in &missing {
            let _ = std::fs::write(&path, m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_mountpoint_agrees_with_mountinfo() {
        // This host mounts cgroup2 at /sys/fs/cgroup/unified (hybrid), the VM at /sys/fs/cgroup.
        let quick = usual_mountpoint().expect("cgroup2 at one of the usual places");
        assert_eq!(quick, mountpoint_from_mountinfo().unwrap());
        assert_eq!(mountpoint().unwrap(), quick);
    }

    #[test]
    fn dotdot_cannot_escape() {
        assert_eq!(clean(Path::new("/../../a/../../b")), PathBuf::from("/b"));
        assert_eq!(
            resolve_path(Some(Path::new("/x/../../..")), "id").unwrap(),
            PathBuf::from("/")
        );
        let e = container_path(Some(Path::new("/x/../../..")), "id").unwrap_err();
        assert!(e.to_string().starts_with("linux.cgroupsPath:"), "{e}");
    }
}
