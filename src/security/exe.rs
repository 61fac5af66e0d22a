//! CVE-2019-5736: until execve the init's /proc/self/exe is the host's hull binary. A container
//! whose process.args[0] is /proc/self/exe, or a script whose `#!` names it (directly or through
//! other interpreters), would run hull itself as the container process; from there, another
//! process in the container can reopen that binary through /proc/<pid>/exe and overwrite it on
//! the host once it is no longer busy. The init is non-dumpable until execve; this check refuses
//! the exec itself. Cost: a stat and, for a regular file, an open and a 256-byte read per level.

use super::HostView;
use anyhow::{Result, bail};
use nix::fcntl::OFlag;
use nix::sys::stat::{Mode, SFlag, fstat, stat};
use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// binfmt_script follows at most this many interpreters (BINPRM_MAX_RECURSION).
const MAX_LEVELS: usize = 4;
/// The kernel reads this much of a file to find its `#!` line (BINPRM_BUF_SIZE).
const BUF: usize = 256;

/// Fails if executing `program` would run the runtime's own binary.
pub fn refuse_runtime_binary(program: &CStr, host: &HostView) -> Result<()> {
    let first = PathBuf::from(OsStr::from_bytes(program.to_bytes()));
    let mut path = first.clone();
    for level in 0..=MAX_LEVELS {
        // What execve cannot open, it will not run either: its own error is the better one.
        let Ok(st) = stat(&path) else { return Ok(()) };
        if (st.st_dev, st.st_ino) == host.exe {
            let via = if level == 0 {
                String::new()
            } else {
                format!(" (its #! interpreter chain reaches {})", path.display())
            };
            bail!(
                "process.args[0]: {}{via} is the runtime's own binary; refusing to execute it (CVE-2019-5736)",
                first.display()
            );
        }
        if level == MAX_LEVELS
            || SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG
        {
            return Ok(());
        }
        match interpreter(&path, (st.st_dev, st.st_ino))? {
            Some(next) => path = next,
            None => return Ok(()),
        }
    }
    Ok(())
}

/// The interpreter named by `path`'s `#!` line, if it has one.
fn interpreter(path: &Path, id: (u64, u64)) -> Result<Option<PathBuf>> {
    // O_NONBLOCK: a FIFO swapped in after the stat must not hang the init.
    let fd = match nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        // The kernel reads a script it may not let us read, and would follow its `#!`: what
        // cannot be checked is refused.
        Err(nix::errno::Errno::EACCES) => bail!(
            "process.args[0]: {} is not readable, so its #! interpreter cannot be checked against the runtime's binary (CVE-2019-5736)",
            path.display()
        ),
        Err(_) => return Ok(None),
    };
    // Only trust the content of the file that was checked above.
    match fstat(&fd) {
        Ok(st) if (st.st_dev, st.st_ino) == id => {}
        _ => bail!(
            "process.args[0]: {} changed while it was being checked",
            path.display()
        ),
    }
    let mut buf = [0u8; BUF];
    let n = nix::unistd::read(&fd, &mut buf).unwrap_or(0);
    Ok(parse_shebang(&buf[..n]))
}

/// binfmt_script's parsing: after `#!`, skip blanks; the interpreter ends at a blank or the end
/// of the line.
fn parse_shebang(buf: &[u8]) -> Option<PathBuf> {
    let rest = buf.strip_prefix(b"#!")?;
    let line = rest.split(|&b| b == b'\n' || b == 0).next()?;
    let name = line
        .split(|&b| b == b' ' || b == b'\t')
        .find(|s| !s.is_empty())?;
    Some(PathBuf::from(OsStr::from_bytes(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_parsing() {
        assert_eq!(
            parse_shebang(b"#!/proc/self/exe\n"),
            Some("/proc/self/exe".into())
        );
        assert_eq!(parse_shebang(b"#! \t/bin/sh -e\nx"), Some("/bin/sh".into()));
        assert_eq!(parse_shebang(b"\x7fELF"), None);
        assert_eq!(parse_shebang(b"#!\n"), None);
    }

    #[test]
    fn refuses_self_and_scripts_and_measures() {
        let host = HostView::capture().unwrap();
        let me = c"/proc/self/exe";
        let err = refuse_runtime_binary(me, &host).unwrap_err();
        assert!(format!("{err}").contains("CVE-2019-5736"), "{err}");
        let dir = std::env::temp_dir().join(format!("hull-exe-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A chain: a -> b -> /proc/self/exe.
        std::fs::write(dir.join("b"), "#!/proc/self/exe\n").unwrap();
        std::fs::write(dir.join("a"), format!("#!{}\n", dir.join("b").display())).unwrap();
        let a = std::ffi::CString::new(dir.join("a").to_str().unwrap()).unwrap();
        assert!(refuse_runtime_binary(&a, &host).is_err());
        // An ordinary script passes; time the check on it.
        std::fs::write(dir.join("ok"), "#!/bin/sh\necho hi\n").unwrap();
        let ok = std::ffi::CString::new(dir.join("ok").to_str().unwrap()).unwrap();
        let t = std::time::Instant::now();
        for _ in 0..1000 {
            refuse_runtime_binary(&ok, &host).unwrap();
        }
        eprintln!(
            "exe check: {:?} per call (script + /bin/sh)",
            t.elapsed() / 1000
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
