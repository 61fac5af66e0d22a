//! The exec trampoline, hull's side. The last execve of a container process is hull's execveat
//! of a sealed memfd holding trampoline/main.rs's few-KB static program, which then executes
//! the user's program: at that execve /proc/self/exe is the memfd, so nothing a container swaps
//! in (a `#!` chain naming /proc/self/exe, an ELF interpreter, binfmt_misc) can reach the host's
//! hull binary (CVE-2019-5736). The seals (write, grow, shrink, seal) keep the memfd itself
//! unwritable. See exe_view for when it is used.

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

/// The program, built by build.rs.
const PROGRAM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hull-exec"));
/// The trampoline does anything only when its argv[0] is this.
const ARGV0: &CStr = c"hull-exec";

/// A sealed, close-on-exec memfd holding the trampoline.
pub struct Trampoline {
    fd: OwnedFd,
}

impl Trampoline {
    /// A memfd per hull command: a few syscalls and one page.
    pub fn new() -> Result<Trampoline> {
        let flags = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
        // MFD_EXEC (Linux 6.3) keeps it executable whatever vm.memfd_noexec makes the default;
        // older kernels do not know the flag (EINVAL), and every memfd is executable there.
        let exec = MFdFlags::from_bits_retain(libc::MFD_EXEC);
        let fd = match memfd_create(ARGV0, flags | exec) {
            Err(Errno::EINVAL) => memfd_create(ARGV0, flags),
            r => r,
        }
        .context("memfd_create for the exec trampoline")?;
        let mut rest = PROGRAM;
        while !rest.is_empty() {
            match nix::unistd::write(&fd, rest) {
                Ok(0) => bail!("writing the exec trampoline: no progress"),
                Ok(n) => rest = &rest[n..],
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e).context("writing the exec trampoline"),
            }
        }
        let seals = SealFlag::F_SEAL_WRITE
            | SealFlag::F_SEAL_GROW
            | SealFlag::F_SEAL_SHRINK
            | SealFlag::F_SEAL_SEAL;
        fcntl(&fd, FcntlArg::F_ADD_SEALS(seals)).context("sealing the exec trampoline")?;
        Ok(Trampoline { fd })
    }

    /// The trampoline's argv: the report fd first among `keep`, then `program` and the user's
    /// argv.
    pub fn argv(keep: &[RawFd], program: &CStr, argv: &[CString]) -> Result<Vec<CString>> {
        if keep.is_empty() {
            bail!("the exec trampoline needs an fd to report on");
        }
        let fds = keep
            .iter()
            .map(|fd| fd.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let mut v = Vec::with_capacity(argv.len() + 3);
        v.push(ARGV0.to_owned());
        v.push(CString::new(fds).context("the exec trampoline's fd list")?);
        v.push(program.to_owned());
        v.extend(argv.iter().cloned());
        Ok(v)
    }

    /// Executes the trampoline with `argv` (from `Trampoline::argv`) and the user's `envp`.
    /// The `keep` fds must survive this exec, so their close-on-exec flag is cleared first; the
    /// trampoline sets it again before the user's program. Returns only on failure.
    pub fn exec(&self, keep: &[RawFd], argv: &[CString], envp: &[CString]) -> anyhow::Error {
        for &fd in keep {
            if let Err(e) = crate::sys::clear_cloexec(fd) {
                return anyhow::Error::new(e).context(format!(
                    "clearing close-on-exec of fd {fd} for the trampoline"
                ));
            }
        }
        let Err(e) = nix::unistd::execveat(
            self.fd.as_fd(),
            c"",
            argv,
            envp,
            nix::fcntl::AtFlags::AT_EMPTY_PATH,
        );
        anyhow::Error::new(e).context("execveat of hull's exec trampoline")
    }
}

/// The memfd, which must stay open until the execveat (close_fds keeps it).
impl AsRawFd for Trampoline {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// The text of a failure the trampoline reported (`T<stage><errno>:<what>`): the same as hull
/// gives for a failed execve of its own, so that `start` and `exec` say what they always said.
/// None if `msg` is no such report.
pub fn describe(msg: &[u8]) -> Option<String> {
    let rest = msg.strip_prefix(b"T")?;
    let (&stage, rest) = rest.split_first()?;
    let colon = rest.iter().position(|&b| b == b':')?;
    let errno: i32 = std::str::from_utf8(&rest[..colon]).ok()?.parse().ok()?;
    let e = Errno::from_raw(errno);
    let what = &rest[colon + 1..];
    match stage {
        b'x' => {
            let program = CString::new(what).ok()?;
            Some(format!("process.args[0]: exec {program:?}: {e}"))
        }
        b'f' => Some(format!(
            "hull's exec trampoline: marking fd {} close-on-exec: {e}",
            String::from_utf8_lossy(what)
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_read_as_hulls_own_errors() {
        assert_eq!(
            describe(b"Tx8:/bin/x").as_deref(),
            Some(r#"process.args[0]: exec "/bin/x": ENOEXEC: Exec format error"#)
        );
        assert_eq!(
            describe(b"Tf9:7").as_deref(),
            Some("hull's exec trampoline: marking fd 7 close-on-exec: EBADF: Bad file number")
        );
        assert_eq!(describe(b"Eother"), None);
        assert_eq!(describe(b"Tx:"), None);
    }

    #[test]
    fn is_small_and_sealed() {
        assert!(PROGRAM.len() < 16 << 10, "{} bytes", PROGRAM.len());
        let t = Trampoline::new().unwrap();
        let seals = fcntl(t.fd.as_fd(), FcntlArg::F_GET_SEALS).unwrap();
        assert_eq!(seals & 0xf, 0xf, "{seals:#x}");
        assert!(nix::unistd::write(&t.fd, b"x").is_err());
    }
}
