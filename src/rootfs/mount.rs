//! One `mounts[]` entry: resolve the destination inside the rootfs, mount, then apply the flags a
//! bind mount ignores at first and the propagation options.

use super::Rootfs;
use super::resolve;
use super::sources::Source;
use crate::mount_options as options;
use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{SFlag, fstat};
use nix::sys::statvfs::{FsFlags, statvfs};
use oci_spec::runtime::Mount;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// `source`: what `create` opened for this mount (rootfs::sources).
pub fn mount_entry(
    rootfs: &Rootfs,
    m: &Mount,
    bundle: &Path,
    source: Option<Source>,
) -> Result<()> {
    let mut opts = options::parse(m.options().as_deref().unwrap_or(&[]));
    if late_readonly(m).is_some() {
        // Read-only only once /dev is populated (super::finish_readonly), as runc does.
        opts.flags.remove(MsFlags::MS_RDONLY);
    }
    let typ = m.typ().clone().unwrap_or_default();
    let is_bind = opts.flags.contains(MsFlags::MS_BIND) || typ == "bind";
    let dest = m.destination();
    let root = rootfs.fd.as_fd();
    // The image's /dev (bound from the image, or no /dev mount at all) may hold symlinks aimed
    // anywhere in the rootfs: nothing is mounted over one (CVE-2025-52565 class).
    if dest.starts_with("/dev/") {
        refuse_symlink(rootfs, dest, false)?;
    }
    if opts.tmpcopyup && typ != "tmpfs" {
        bail!("options: tmpcopyup applies to tmpfs mounts only, not to type {typ:?}");
    }

    if is_bind {
        let src = super::idmap::source(m, bundle)?;
        let is_dir = match &source {
            Some(Source::Idmapped(fd) | Source::Opened(fd)) => fstat(fd.as_fd())
                .map(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
                .with_context(|| format!("source {}", src.display()))?,
            None => std::fs::metadata(&src)
                .with_context(|| format!("source {}", src.display()))?
                .is_dir(),
        };
        let target = if is_dir {
            resolve::mkdir_all(root, dest)?
        } else {
            resolve::mkfile(root, dest)?
        };
        let rec = opts.flags & MsFlags::MS_REC;
        match source {
            Some(Source::Idmapped(detached)) => {
                crate::sys::mount_api::move_mount_onto(detached.as_fd(), target.as_fd())
                    .with_context(|| format!("attaching the idmapped mount of {}", src.display()))?
            }
            // Opened by create before the user namespace (rootfs::sources).
            Some(Source::Opened(fd)) => mount(
                Some(resolve::fd_path(&fd).as_str()),
                resolve::fd_path(&target).as_str(),
                None::<&str>,
                MsFlags::MS_BIND | rec,
                None::<&str>,
            )
            .with_context(|| format!("bind-mounting {}", src.display()))?,
            None => mount(
                Some(&src),
                resolve::fd_path(&target).as_str(),
                None::<&str>,
                MsFlags::MS_BIND | rec,
                None::<&str>,
            )
            .with_context(|| format!("bind-mounting {}", src.display()))?,
        }
        // `difference`, not `& !`: bitflags' `!` drops bits nix does not name (MS_NOSYMFOLLOW).
        let extra = opts
            .flags
            .difference(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        // The kernel ignores flags on the first bind mount: apply them by remounting what is
        // now mounted at the destination (a fresh lookup, since `target` is the covered dir).
        if !extra.is_empty() {
            let new =
                resolve::open(root, dest, OFlag::O_PATH).context("reopening the destination")?;
            remount(&resolve::fd_path(&new), MsFlags::MS_BIND | extra)?;
        }
    } else {
        // A proc or sysfs mounted over a symlink could be redirected anywhere (CVE-2019-16884,
        // CVE-2023-27561): those destinations must be real directories.
        if typ == "proc" || typ == "sysfs" {
            refuse_symlink(rootfs, dest, true)?;
        }
        let target = resolve::mkdir_all(root, dest)?;
        let tpath = resolve::fd_path(&target);
        let data = opts.data.join(",");
        let data = (!data.is_empty()).then_some(data.as_str());
        let mut flags = opts.flags.difference(MsFlags::MS_REMOUNT);
        if opts.tmpcopyup {
            // Writable until the copy is in; read-only afterwards if asked.
            flags.remove(MsFlags::MS_RDONLY);
        }
        let source = m.source().clone().unwrap_or_else(|| PathBuf::from(&typ));
        match typ.as_str() {
            "cgroup" | "cgroup2" => mount_cgroup(rootfs, &tpath, flags)?,
            "sysfs" => match mount(Some(&source), tpath.as_str(), Some("sysfs"), flags, data) {
                // Without its own network namespace a user-namespaced container may not mount
                // sysfs; runc binds the host's /sys then.
                Err(Errno::EPERM) if rootfs.in_userns => {
                    mount(
                        Some("/sys"),
                        tpath.as_str(),
                        None::<&str>,
                        MsFlags::MS_BIND | MsFlags::MS_REC,
                        None::<&str>,
                    )
                    .context("binding /sys")?;
                    let new = resolve::open(root, dest, OFlag::O_PATH)?;
                    remount(&resolve::fd_path(&new), MsFlags::MS_BIND | flags)?;
                }
                r => r.with_context(|| format!("mounting sysfs with options {:?}", m.options()))?,
            },
            _ => mount(
                Some(&source),
                tpath.as_str(),
                Some(typ.as_str()),
                flags,
                data,
            )
            .with_context(|| {
                format!(
                    "mounting {typ} with options {:?}",
                    m.options().clone().unwrap_or_default()
                )
            })?,
        }
        if opts.tmpcopyup {
            // `target` still names the image's directory, now covered by the tmpfs.
            let upper = resolve::open(root, dest, OFlag::O_PATH | OFlag::O_DIRECTORY)
                .context("reopening the destination")?;
            super::copyup::copy_dir(target.as_fd(), upper.as_fd())?;
            if opts.flags.contains(MsFlags::MS_RDONLY) {
                remount(&resolve::fd_path(&upper), flags | MsFlags::MS_RDONLY)?;
            }
        }
    }
    if opts.rec_set != 0 || opts.rec_clear != 0 {
        let new = resolve::open(root, dest, OFlag::O_PATH).context("reopening the destination")?;
        crate::sys::mount_api::set_recursive_attrs(new.as_fd(), opts.rec_set, opts.rec_clear)
            .with_context(|| {
                let names: Vec<&String> = m
                    .options()
                    .iter()
                    .flatten()
                    .filter(|o| {
                        matches!(
                            options::effect(o),
                            Some(options::Effect::RecSet(_) | options::Effect::RecClear(_))
                        )
                    })
                    .collect();
                format!("options: {names:?}: mount_setattr(AT_RECURSIVE)")
            })?;
    }
    if !opts.propagation.is_empty() {
        let new = resolve::open(root, dest, OFlag::O_PATH)?;
        for p in &opts.propagation {
            mount(
                None::<&str>,
                resolve::fd_path(&new).as_str(),
                None::<&str>,
                *p,
                None::<&str>,
            )
            .context("setting mount propagation")?;
        }
    }
    Ok(())
}

/// runc mounts a read-only tmpfs, and a read-only /dev, writable first and remounts it
/// read-only at the end: /dev gets its nodes, /dev/pts, /dev/console and mount points made
/// inside it, and a tmpfs its mount points. The flags of that remount, for such a mount.
pub fn late_readonly(m: &Mount) -> Option<MsFlags> {
    let opts = options::parse(m.options().as_deref().unwrap_or(&[]));
    let tmpfs = m.typ().as_deref() == Some("tmpfs");
    let dev = m
        .destination()
        .components()
        .eq(Path::new("/dev").components());
    (opts.flags.contains(MsFlags::MS_RDONLY) && (tmpfs || dev)).then(|| {
        MsFlags::MS_BIND
            | (opts.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT))
    })
}

/// Fails if `dest` is a symlink in the rootfs (or, with `dir_required`, anything but a
/// directory).
fn refuse_symlink(rootfs: &Rootfs, dest: &Path, dir_required: bool) -> Result<()> {
    let Some(name) = dest.file_name() else {
        return Ok(());
    };
    let parent = dest.parent().unwrap_or(Path::new("/"));
    let Ok(pfd) = resolve::open(
        rootfs.fd.as_fd(),
        parent,
        OFlag::O_PATH | OFlag::O_DIRECTORY,
    ) else {
        return Ok(());
    };
    match nix::sys::stat::fstatat(pfd.as_fd(), name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK => {
            bail!(
                "destination {} is a symlink in the rootfs; refusing to mount over it",
                dest.display()
            )
        }
        Ok(st)
            if dir_required
                && SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFDIR =>
        {
            bail!(
                "destination {} is not a directory in the rootfs",
                dest.display()
            )
        }
        _ => Ok(()),
    }
}

/// cgroup v2 only: a `cgroup` mount becomes a cgroup2 instance, which inside a cgroup namespace
/// shows the container's own cgroup as its root. Where the kernel refuses a new instance (no
/// cgroup namespace in a user namespace), bind the container's cgroup dir, as runc does.
fn mount_cgroup(rootfs: &Rootfs, target: &str, flags: MsFlags) -> Result<()> {
    match mount(
        Some("cgroup2"),
        target,
        Some("cgroup2"),
        flags,
        None::<&str>,
    ) {
        Ok(()) => Ok(()),
        Err(Errno::EPERM) | Err(Errno::EBUSY) => {
            mount(
                Some(&rootfs.cgroup_dir),
                target,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .with_context(|| format!("binding {}", rootfs.cgroup_dir.display()))?;
            remount(target, MsFlags::MS_BIND | flags)
        }
        Err(e) => Err(e).context("mounting cgroup2"),
    }
}

/// Remounts a bind mount with new flags. In a user namespace the kernel locks the flags the
/// mount already had (nosuid, nodev, noexec, atime): if it refuses, keep those and retry.
pub fn remount(target: &str, flags: MsFlags) -> Result<()> {
    let flags = flags | MsFlags::MS_REMOUNT;
    match mount(None::<&str>, target, None::<&str>, flags, None::<&str>) {
        Err(Errno::EPERM) => {
            let cur = statvfs(target)
                .with_context(|| format!("statvfs {target}"))?
                .flags();
            let mut locked = MsFlags::empty();
            for (f, m) in [
                (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
                (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
                (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
                (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
                (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
                (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
                (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
            ] {
                if cur.contains(f) {
                    locked |= m;
                }
            }
            mount(
                None::<&str>,
                target,
                None::<&str>,
                flags | locked,
                None::<&str>,
            )
            .with_context(|| format!("remounting with {flags:?}"))
        }
        r => r.with_context(|| format!("remounting with {flags:?}")),
    }
}

/// Whether `fd` is the character device `major:minor`.
pub fn is_char_dev(fd: &impl AsFd, major: u64, minor: u64) -> bool {
    fstat(fd.as_fd()).is_ok_and(|st| {
        SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR
            && nix::sys::stat::major(st.st_rdev) == major
            && nix::sys::stat::minor(st.st_rdev) == minor
    })
}
