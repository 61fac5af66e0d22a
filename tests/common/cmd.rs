//! Commands with a timeout, and what they printed.

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::scratch::{COUNTER, tmp_base};

/// Default bound for a single hull invocation.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(60);
/// Default bound for polling a container's state.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Result of one command.
#[derive(Clone, Debug)]
pub struct Out {
    /// Exit code; `-N` if the command itself was killed by signal N.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub cmdline: String,
}

impl Out {
    pub fn ok(&self) -> bool {
        self.code == 0
    }
    /// stdout with surrounding whitespace trimmed.
    pub fn out(&self) -> &str {
        self.stdout.trim()
    }
}

impl fmt::Display for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\n$ {}\n[exit {}]\n--- stdout ---\n{}\n--- stderr ---\n{}\n",
            self.cmdline, self.code, self.stdout, self.stderr
        )
    }
}

/// A spawned command whose stdout/stderr go to files (so that a detached
/// container inheriting them can't block us on a pipe).
pub struct Spawned {
    child: Child,
    out_path: PathBuf,
    err_path: PathBuf,
    cmdline: String,
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait up to `timeout`; on timeout kill the command (by pid) and panic.
    pub fn wait_timeout(mut self, timeout: Duration) -> Out {
        let start = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let out = self.collect(-9);
                panic!("command timed out after {timeout:?}{out}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        use std::os::unix::process::ExitStatusExt;
        let code = status
            .code()
            .unwrap_or_else(|| -status.signal().unwrap_or(0));
        self.collect(code)
    }

    pub fn wait(self) -> Out {
        self.wait_timeout(CMD_TIMEOUT)
    }

    fn collect(&self, code: i32) -> Out {
        let read = |p: &Path| {
            let mut s = Vec::new();
            if let Ok(mut f) = fs::File::open(p) {
                let _ = f.read_to_end(&mut s);
            }
            let _ = fs::remove_file(p);
            String::from_utf8_lossy(&s).into_owned()
        };
        Out {
            code,
            stdout: read(&self.out_path),
            stderr: read(&self.err_path),
            cmdline: self.cmdline.clone(),
        }
    }
}

/// Spawn `prog args` with stdin=/dev/null and RUST_BACKTRACE=1.
pub fn spawn_cmd<S: AsRef<OsStr>>(prog: &Path, args: &[S], io_dir: &Path) -> Spawned {
    spawn_cmd_in(prog, args, io_dir, None)
}

/// `spawn_cmd` in working directory `cwd`.
pub fn spawn_cmd_in<S: AsRef<OsStr>>(
    prog: &Path,
    args: &[S],
    io_dir: &Path,
    cwd: Option<&Path>,
) -> Spawned {
    spawn_cmd_full(prog, args, io_dir, cwd, &[])
}

/// `spawn_cmd` with extra environment variables.
pub fn spawn_cmd_env<S: AsRef<OsStr>>(
    prog: &Path,
    args: &[S],
    io_dir: &Path,
    env: &[(&str, &str)],
) -> Spawned {
    spawn_cmd_full(prog, args, io_dir, None, env)
}

fn spawn_cmd_full<S: AsRef<OsStr>>(
    prog: &Path,
    args: &[S],
    io_dir: &Path,
    cwd: Option<&Path>,
    env: &[(&str, &str)],
) -> Spawned {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let pid = std::process::id();
    let out_path = io_dir.join(format!("out.{pid}.{n}"));
    let err_path = io_dir.join(format!("err.{pid}.{n}"));
    let stdout = fs::File::create(&out_path).unwrap();
    let stderr = fs::File::create(&err_path).unwrap();
    let cmdline = std::iter::once(prog.as_os_str())
        .chain(args.iter().map(|a| a.as_ref()))
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new(prog);
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let child = cmd
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmdline}: {e}"));
    Spawned {
        child,
        out_path,
        err_path,
        cmdline,
    }
}

/// Run a host command (e.g. `ip`, `stat`) with the default timeout.
pub fn host(prog: &str, args: &[&str]) -> Out {
    let io = tmp_base().join("io");
    fs::create_dir_all(&io).unwrap();
    let p = if prog.contains('/') {
        PathBuf::from(prog)
    } else {
        which(prog).unwrap_or_else(|| panic!("{prog} not found in PATH"))
    };
    spawn_cmd(&p, args, &io).wait()
}

/// `prog` in PATH (or the sbin directories), like which(1).
pub fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    path.split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join(prog))
        .find(|p| p.is_file())
}

/// Poll `f` every 20 ms until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Assert a command failed with exactly one line on stderr containing `needle`
/// (and no Rust panic / backtrace).
pub fn assert_one_line_error(out: &Out, needle: &str) {
    assert_ne!(out.code, 0, "expected failure{out}");
    assert!(
        out.code > 0,
        "hull died from a signal instead of exiting with an error{out}"
    );
    let err = out.stderr.trim_end_matches('\n');
    assert!(!err.is_empty(), "expected an error message on stderr{out}");
    assert!(!err.contains('\n'), "error must be exactly one line{out}");
    assert!(
        !err.contains("panicked") && !err.contains("stack backtrace"),
        "error is a panic/backtrace{out}"
    );
    assert!(err.contains(needle), "error should mention {needle:?}{out}");
}

/// Assert a command failed with exactly two lines on stderr: a warning containing `warning`,
/// then the error, containing `needle`.
pub fn assert_warning_then_error(out: &Out, warning: &str, needle: &str) {
    assert_ne!(out.code, 0, "expected failure{out}");
    let lines: Vec<&str> = out.stderr.trim_end().lines().collect();
    assert!(
        lines.len() == 2 && lines[0].contains(warning) && lines[1].contains(needle),
        "expected a warning with {warning:?}, then an error with {needle:?}{out}"
    );
}
