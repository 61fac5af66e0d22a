//! Unix socket paths of any length. `sun_path` holds 108 bytes, and a caller's path (an engine's
//! per-container directory, a deep checkout) can be longer; such a socket is reached through
//! `/proc/self/fd/<fd of its directory>/<name>` instead.

use anyhow::{Context, Result};
use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// Longest path that fits in `sun_path` with its terminating NUL.
const SUN_PATH_MAX: usize = 107;

/// A path to use for bind, connect or sendto; keeps the directory open while it is in use.
pub struct SocketPath {
    _dir: Option<std::fs::File>,
    pub path: PathBuf,
}

/// `path` itself when it fits, else the same file named through its open directory.
pub fn usable(path: &Path) -> Result<SocketPath> {
    if path.as_os_str().len() <= SUN_PATH_MAX {
        return Ok(SocketPath {
            _dir: None,
            path: path.to_path_buf(),
        });
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    let f = std::fs::File::open(dir).with_context(|| format!("opening {}", dir.display()))?;
    let mut short = OsString::from(format!("/proc/self/fd/{}/", f.as_raw_fd()));
    short.push(name);
    Ok(SocketPath {
        _dir: Some(f),
        path: PathBuf::from(short),
    })
}

/// Connects a stream socket at `path`, however long the path is.
pub fn connect(path: &Path) -> Result<UnixStream> {
    let p = usable(path)?;
    UnixStream::connect(&p.path).with_context(|| format!("connecting to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_are_reached_through_their_directory() {
        let base = std::env::temp_dir().join(format!("hull-up-{}", std::process::id()));
        let deep = base.join("d".repeat(60)).join("e".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        let sock = deep.join("s.sock");
        assert!(sock.as_os_str().len() > SUN_PATH_MAX);
        let bound = usable(&sock).unwrap();
        let _l = std::os::unix::net::UnixListener::bind(&bound.path).unwrap();
        assert!(sock.exists());
        assert!(connect(&sock).is_ok());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
