//! /dev: the default devices every container gets, `linux.devices`, and the standard symlinks
//! (config-linux.md "Default Devices").

use super::{Rootfs, resolve};
use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{Mode, SFlag, makedev, mknodat};
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchownat, symlinkat, unlinkat};
use oci_spec::runtime::{LinuxDeviceType, Mount, Spec};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// A bind mount over /dev means the user brings their own /dev; otherwise hull populates it.
pub fn dev_is_ours(mounts: &[Mount]) -> bool {
    !mounts.iter().any(|m| {
        m.destination() == Path::new("/dev")
            && m.options()
                .iter()
                .flatten()
                .any(|o| o == "bind" || o == "rbind")
    })
}

struct Node {
    path: PathBuf,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
}

const DEFAULTS: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

pub fn create(rootfs: &Rootfs, spec: &Spec) -> Result<()> {
    let root = rootfs.fd.as_fd();
    let dev = resolve::mkdir_all(root, Path::new("/dev"))?;
    let configured = spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().clone())
        .unwrap_or_default();
    let mut nodes: Vec<Node> = DEFAULTS
        .iter()
        .filter(|(p, _, _)| !configured.iter().any(|d| d.path() == Path::new(p)))
        .map(|(p, major, minor)| Node {
            path: PathBuf::from(p),
            kind: SFlag::S_IFCHR,
            major: *major,
            minor: *minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        })
        .collect();
    for d in &configured {
        let kind = match d.typ() {
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            _ => SFlag::S_IFCHR,
        };
        nodes.push(Node {
            path: d.path().clone(),
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        });
    }
    for (i, n) in nodes.iter().enumerate() {
        make_node(rootfs, n).with_context(|| {
            let idx = i.checked_sub(nodes.len() - configured.len());
            match idx {
                Some(j) => format!("linux.devices[{j}] ({})", n.path.display()),
                None => format!("default device {}", n.path.display()),
            }
        })?;
    }
    for (target, name) in [
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ] {
        match symlinkat(target, dev.as_fd(), name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e).with_context(|| format!("creating /dev/{name}")),
        }
    }
    if Path::new("/proc/kcore").exists() {
        let _ = symlinkat("/proc/kcore", dev.as_fd(), "core");
    }
    // /dev/ptmx must be the devpts instance's ptmx, so ptys are allocated in the container's
    // own devpts.
    let _ = unlinkat(dev.as_fd(), "ptmx", UnlinkatFlags::NoRemoveDir);
    symlinkat("pts/ptmx", dev.as_fd(), "ptmx").context("creating /dev/ptmx")?;
    Ok(())
}

fn make_node(rootfs: &Rootfs, n: &Node) -> Result<()> {
    let root = rootfs.fd.as_fd();
    let parent = resolve::mkdir_all(root, n.path.parent().unwrap_or(Path::new("/dev")))?;
    let name = n.path.file_name().context("device path has no file name")?;
    if rootfs.in_userns {
        // mknod is not allowed in a user namespace: bind the host's node instead.
        // Onto a file of our own, never through whatever the image has at that path.
        let target = resolve::fresh_file(root, &n.path)?;
        return mount(
            Some(&n.path),
            resolve::fd_path(&target).as_str(),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .with_context(|| format!("binding host {}", n.path.display()));
    }
    match unlinkat(parent.as_fd(), name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(e).context("removing what was there"),
    }
    mknodat(
        parent.as_fd(),
        name,
        n.kind,
        Mode::from_bits_truncate(n.mode),
        makedev(n.major, n.minor),
    )
    .context("mknod")?;
    fchownat(
        parent.as_fd(),
        name,
        Some(Uid::from_raw(n.uid)),
        Some(Gid::from_raw(n.gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .context("chown")?;
    Ok(())
}
