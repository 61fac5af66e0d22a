//! The rootfs, looked at as create will use it: every lookup inside it goes through
//! rootfs::resolve (RESOLVE_IN_ROOT), so no symlink of the untrusted image leads out of it.

use super::{Finding, Input};
use crate::rootfs::resolve;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{Mode, SFlag};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};

/// root.path opened, or the finding that it is not a directory (create's own wording).
pub fn root_dir(i: &Input, out: &mut Vec<Finding>) -> Option<OwnedFd> {
    let path = i.bundle.join(i.spec.root().as_ref()?.path());
    match nix::fcntl::open(
        &path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Some(fd),
        Err(e) => {
            out.push(Finding::error(
                "root.path",
                format!("{} is not a directory ({e})", path.display()),
                "point root.path (relative to the bundle) at the unpacked image's root directory",
            ));
            None
        }
    }
}

pub fn check(i: &Input, root: &OwnedFd, out: &mut Vec<Finding>) {
    let view = View::new(i, root);
    if let Some(p) = i.spec.process() {
        program(&view, p, out);
        cwd(&view, p.cwd(), i.warnings, out);
        if i.warnings {
            username(&view, p.user(), out);
        }
    }
    if i.warnings {
        symlinks_out(i, &view, out);
    }
}

/// The container's file tree before it runs: the rootfs, with bind mounts laid over it (an
/// engine binds its init, say, where the image has nothing). What another mount provides
/// (a tmpfs...) cannot be known before it is made.
pub struct View<'a> {
    root: &'a OwnedFd,
    bundle: &'a Path,
    /// (destination, source) of bind mounts; None for other mounts.
    mounts: Vec<(PathBuf, Option<PathBuf>)>,
}

/// Where a container path lives before the container exists.
enum Place {
    /// In the rootfs, at this path.
    Root(PathBuf),
    /// Under this directory of a bind mount's source, at this path.
    At(OwnedFd, PathBuf),
    /// On a mount that is not a bind: nothing to look at yet.
    Unknown,
}

impl<'a> View<'a> {
    pub fn new(i: &Input<'a>, root: &'a OwnedFd) -> View<'a> {
        let mounts = i
            .spec
            .mounts()
            .iter()
            .flatten()
            .map(|m| {
                let opts = m.options().as_deref().unwrap_or(&[]);
                let bind = m.typ().as_deref() == Some("bind")
                    || opts.iter().any(|o| o == "bind" || o == "rbind");
                (
                    m.destination().clone(),
                    bind.then(|| m.source().clone()).flatten(),
                )
            })
            .collect();
        View {
            root,
            bundle: i.bundle,
            mounts,
        }
    }

    fn place(&self, path: &Path) -> nix::Result<Place> {
        // The last mount over the path is the one seen.
        let over = self
            .mounts
            .iter()
            .rev()
            .find(|(dest, _)| path.starts_with(dest));
        match over {
            None => Ok(Place::Root(path.into())),
            Some((_, None)) => Ok(Place::Unknown),
            Some((dest, Some(source))) => {
                let source = self.bundle.join(source);
                let rest = path.strip_prefix(dest).unwrap_or(Path::new(""));
                // The source is named by the trusted config; below it, the tree is resolved
                // like the rootfs.
                let dir = if rest.as_os_str().is_empty() {
                    source.parent().unwrap_or(Path::new("/")).to_path_buf()
                } else {
                    source.clone()
                };
                let fd = nix::fcntl::open(
                    &dir,
                    OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?;
                let rel = match rest.as_os_str().is_empty() {
                    true => PathBuf::from(source.file_name().unwrap_or_default()),
                    false => rest.to_path_buf(),
                };
                Ok(Place::At(fd, rel))
            }
        }
    }

    /// Opens a container path: None when it lies on a mount that is not there yet.
    fn open(&self, path: &Path, flags: OFlag) -> nix::Result<Option<OwnedFd>> {
        match self.place(path)? {
            Place::Root(rel) => resolve::open(self.root.as_fd(), &rel, flags).map(Some),
            Place::At(dir, rel) => resolve::open(dir.as_fd(), &rel, flags).map(Some),
            Place::Unknown => Ok(None),
        }
    }
}

impl View<'_> {
    /// Why the container could not execute `path` (looked up as is), if it could not.
    pub fn program_problem(&self, path: &Path) -> Option<String> {
        match lookup(self, path) {
            Program::Executable(_) | Program::Unknown => None,
            Program::NotExecutable => Some("is not executable in the rootfs".into()),
            Program::Missing => {
                Some("is not in the rootfs (startContainer hooks run in the container)".into())
            }
        }
    }
}

/// What a program path is in the container.
enum Program {
    /// A regular file with an execute bit.
    Executable(OwnedFd),
    NotExecutable,
    Missing,
    /// On a mount not made yet.
    Unknown,
}

fn lookup(view: &View, path: &Path) -> Program {
    let fd = match view.open(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY) {
        Ok(Some(fd)) => fd,
        Ok(None) => return Program::Unknown,
        // Unreadable is not unexecutable (a 0111 file): the kernel decides at execve.
        Err(Errno::EACCES) => return Program::Unknown,
        Err(_) => return Program::Missing,
    };
    match nix::sys::stat::fstat(&fd) {
        Ok(st)
            if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG
                && st.st_mode & 0o111 != 0 =>
        {
            Program::Executable(fd)
        }
        Ok(st) if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG => {
            Program::NotExecutable
        }
        _ => Program::Missing,
    }
}

/// process.args[0] as execvp will look it up in the container (process::execve::find_program),
/// and the interpreter the kernel will need to run it.
fn program(view: &View, p: &oci_spec::runtime::Process, out: &mut Vec<Finding>) {
    let Some(arg0) = p.args().as_ref().and_then(|a| a.first()) else {
        return;
    };
    let cwd = p.cwd();
    let path_var = p
        .env()
        .iter()
        .flatten()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(crate::process::execve::DEFAULT_PATH);
    let candidates: Vec<PathBuf> = if arg0.contains('/') {
        vec![cwd.join(arg0)]
    } else {
        path_var
            .split(':')
            .map(|d| cwd.join(if d.is_empty() { "." } else { d }).join(arg0))
            .collect()
    };
    let mut not_executable = None;
    for c in &candidates {
        match lookup(view, c) {
            Program::Executable(fd) => return interpreter(view, cwd, arg0, c, fd, out),
            Program::Unknown => return,
            Program::NotExecutable => {
                not_executable.get_or_insert(c.clone());
            }
            Program::Missing => {}
        }
    }
    let (reason, hint) = match not_executable {
        Some(c) => (
            format!(
                "{arg0:?}: {} is not executable (permission denied)",
                c.display()
            ),
            "make it executable in the image (chmod +x)".to_string(),
        ),
        None => (
            format!("{arg0:?}: executable file not found in $PATH"),
            match arg0.contains('/') {
                true => format!(
                    "the rootfs (root.path) has no {arg0}: install it in the image, or fix process.args[0]"
                ),
                false => format!(
                    "the rootfs (root.path) has no {arg0} in PATH={path_var}: install it in the image, or fix process.args[0] or PATH in process.env"
                ),
            },
        ),
    };
    out.push(Finding::error("process.args[0]", reason, &hint));
}

/// The ELF interpreter (PT_INTERP) or `#!` interpreter of the program at `path`, which must be
/// in the container too: else execve fails with a bare ENOENT.
fn interpreter(
    view: &View,
    cwd: &Path,
    arg0: &str,
    path: &Path,
    fd: OwnedFd,
    out: &mut Vec<Finding>,
) {
    let file = std::fs::File::from(fd);
    let mut head = [0u8; 256];
    let Ok(n) = file.read_at(&mut head, 0) else {
        return;
    };
    let head = &head[..n];
    let (kind, interp) = if let Some(line) = head.strip_prefix(b"#!") {
        let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        match line.split_whitespace().next() {
            Some(i) => ("#! interpreter", i.to_string()),
            None => return,
        }
    } else {
        match elf_interp(&file, head) {
            Some(i) => ("ELF interpreter", i),
            None => return,
        }
    };
    let found = lookup(view, &cwd.join(&interp));
    if matches!(found, Program::Missing | Program::NotExecutable) {
        out.push(Finding::error(
            "process.args[0]",
            format!(
                "{arg0:?}: {} needs its {kind} {interp}, which is not in the rootfs",
                path.display()
            ),
            &format!("install {interp} in the image, or use a program built for it (a static binary needs none)"),
        ));
    }
}

/// PT_INTERP of an ELF file whose first bytes are `head`.
fn elf_interp(file: &std::fs::File, head: &[u8]) -> Option<String> {
    if head.len() < 64 || head[..4] != *b"\x7fELF" {
        return None;
    }
    let wide = head[4] == 2;
    let le = head[5] == 1;
    let int = |b: &[u8]| -> u64 {
        let mut v = 0u64;
        for (k, &x) in b.iter().enumerate() {
            let shift = if le { 8 * k } else { 8 * (b.len() - 1 - k) };
            v |= u64::from(x) << shift;
        }
        v
    };
    let (phoff, phentsize, phnum) = match wide {
        true => (
            int(&head[0x20..0x28]),
            int(&head[0x36..0x38]),
            int(&head[0x38..0x3a]),
        ),
        false => (
            int(&head[0x1c..0x20]),
            int(&head[0x2a..0x2c]),
            int(&head[0x2c..0x2e]),
        ),
    };
    let min = if wide { 0x38 } else { 0x20 };
    if phentsize < min || phnum > 512 {
        return None;
    }
    let mut table = vec![0u8; (phentsize * phnum) as usize];
    file.read_exact_at(&mut table, phoff).ok()?;
    for ph in table.chunks(phentsize as usize) {
        if int(&ph[0..4]) != 3 {
            continue;
        }
        let (off, size) = match wide {
            true => (int(&ph[0x08..0x10]), int(&ph[0x20..0x28])),
            false => (int(&ph[0x04..0x08]), int(&ph[0x10..0x14])),
        };
        let mut name = vec![0u8; size.min(4096) as usize];
        file.read_exact_at(&mut name, off).ok()?;
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        return Some(String::from_utf8_lossy(&name[..end]).into_owned());
    }
    None
}

/// create makes a missing cwd (as runc); a file in its way fails.
fn cwd(view: &View, cwd: &Path, warnings: bool, out: &mut Vec<Finding>) {
    let mut cur = PathBuf::from("/");
    for c in cwd.components() {
        let Component::Normal(name) = c else {
            continue;
        };
        cur.push(name);
        match view.open(&cur, OFlag::O_PATH) {
            Ok(None) => return,
            Ok(Some(fd)) => match nix::sys::stat::fstat(&fd) {
                Ok(st)
                    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR => {}
                _ => {
                    out.push(Finding::error(
                        "process.cwd",
                        format!("{} is not a directory in the rootfs", cur.display()),
                        "set process.cwd to a directory of the image",
                    ));
                    return;
                }
            },
            Err(_) => {
                if warnings {
                    out.push(Finding::warning(
                        "process.cwd",
                        format!(
                            "{} does not exist in the rootfs; create will make it",
                            cwd.display()
                        ),
                        "check its spelling, or create it in the image",
                    ));
                }
                return;
            }
        }
    }
}

/// process.user.username is a Windows field: on Linux the process runs as process.user.uid.
/// A name the image does not know is most likely a mistake.
fn username(view: &View, user: &oci_spec::runtime::User, out: &mut Vec<Finding>) {
    let Some(name) = user.username().as_deref().filter(|n| !n.is_empty()) else {
        return;
    };
    let passwd = resolve::read_regular(view.root.as_fd(), Path::new("/etc/passwd"), 1 << 20)
        .ok()
        .flatten()
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&passwd);
    let entry = text
        .lines()
        .find(|l| l.split(':').next() == Some(name))
        .and_then(|l| l.split(':').nth(2)?.parse::<u32>().ok());
    let reason = match entry {
        None => format!(
            "{name:?} has no entry in the rootfs's /etc/passwd; the process runs as uid {} (hull takes process.user.uid, not names)",
            user.uid()
        ),
        Some(uid) if uid != user.uid() => format!(
            "{name:?} is uid {uid} in the rootfs's /etc/passwd, but the process runs as process.user.uid {} (hull takes the uid, not names)",
            user.uid()
        ),
        Some(_) => return,
    };
    out.push(Finding::warning(
        "process.user.username",
        reason,
        "set process.user.uid and gid to the user's ids (engines resolve names before create)",
    ));
}

/// /dev, /proc, /sys and mount destinations that go through a symlink leading out of the
/// rootfs as the host would follow it. create resolves them inside the rootfs, which is safe,
/// but an image that links /proc somewhere else is most likely a mistake.
fn symlinks_out(i: &Input, view: &View, out: &mut Vec<Finding>) {
    let targets = ["/dev", "/proc", "/sys"]
        .iter()
        .map(|d| ("mounts".to_string(), PathBuf::from(d)))
        .chain(
            i.spec
                .mounts()
                .iter()
                .flatten()
                .enumerate()
                .map(|(n, m)| (format!("mounts[{n}].destination"), m.destination().clone())),
        );
    let mut seen = Vec::new();
    for (field, dest) in targets {
        if seen.contains(&dest) {
            continue;
        }
        seen.push(dest.clone());
        let mut cur = PathBuf::from("/");
        for c in dest.components() {
            let Component::Normal(name) = c else {
                continue;
            };
            let Ok(dir) =
                resolve::open(view.root.as_fd(), &cur, OFlag::O_PATH | OFlag::O_DIRECTORY)
            else {
                break;
            };
            let link = cur.join(name);
            if let Ok(target) = nix::fcntl::readlinkat(dir.as_fd(), name)
                && leaves_root(&cur, Path::new(&target))
            {
                let field = if field == "mounts" {
                    // /dev, /proc and /sys are the usual mounts, wherever config.json lists them.
                    i.spec
                        .mounts()
                        .iter()
                        .flatten()
                        .position(|m| m.destination() == &dest)
                        .map_or("root.path".to_string(), |n| {
                            format!("mounts[{n}].destination")
                        })
                } else {
                    field.clone()
                };
                out.push(Finding::warning(
                    field,
                    format!(
                        "{} is a symlink to {} in the rootfs, which points out of it; create resolves it inside the rootfs instead",
                        link.display(),
                        target.to_string_lossy()
                    ),
                    &format!("replace the symlink {} in the image with a directory", link.display()),
                ));
                break;
            }
            cur = link;
        }
    }
}

/// Whether a symlink in `dir` (a container path) to `target` leads out of the rootfs when
/// followed as the host would: absolute, or climbing above the root with `..`.
fn leaves_root(dir: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return true;
    }
    let mut depth = dir
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count();
    for c in target.components() {
        match c {
            Component::ParentDir if depth == 0 => return true,
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_that_leave_the_root() {
        assert!(leaves_root(Path::new("/"), Path::new("/host/proc")));
        assert!(leaves_root(Path::new("/"), Path::new("../proc")));
        assert!(leaves_root(Path::new("/a"), Path::new("b/../../../x")));
        assert!(!leaves_root(Path::new("/a"), Path::new("../b")));
        assert!(!leaves_root(Path::new("/"), Path::new("usr/proc")));
    }

    #[test]
    fn elf_interpreter_of_the_hosts_shell() {
        // hull's own binaries are static; the host's shell is not.
        let exe = std::fs::File::open("/bin/sh").unwrap();
        let mut head = [0u8; 256];
        let n = exe.read_at(&mut head, 0).unwrap();
        let interp = elf_interp(&exe, &head[..n]).expect("a dynamic test binary");
        assert!(
            interp.starts_with('/') && interp.contains("ld-"),
            "{interp}"
        );
    }
}
