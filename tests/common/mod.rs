//! Shared harness for hull's integration tests.
//!
//! ```ignore
//! mod common;
//! use common::*;
//!
//! let h = Hull::new();                       // unique --root, cleaned up on drop
//! let mut b = Bundle::new();                 // busybox rootfs + `hull spec` config, terminal=false
//! b.sh("echo hi; exit 3");                   // or b.args(&[..]), b.set("/process/cwd", json!("/tmp"))
//! b.write();                                 // config.json back to disk
//! let id = h.id("demo");                     // unique container id, deleted (-f) on drop
//! let out = h.run(&["run", "-b", b.path_str(), &id]);
//! assert_eq!(out.code, 3, "{out}");
//! assert_no_residue(&h, &b, &id);            // after a failed command
//! ```
//!
//! Every hull invocation is bounded by a timeout (60 s by default), so no test can hang.
//! `HULL_TEST_BIN=/path/to/runtime` runs the suite against another runtime (e.g. runc)
//! to check the tests themselves; `HULL_TEST_KEEP=1` keeps temp dirs for debugging.
#![allow(dead_code)]

#[path = "../skip/mod.rs"]
mod skip_mod;
#[allow(unused_imports)] // not every suite has tests that can skip
pub use skip_mod::skip;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub use serde_json::{Value, json};

/// Default bound for a single hull invocation.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(60);
/// Default bound for polling a container's state.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The runtime under test.
pub fn hull_bin() -> PathBuf {
    match std::env::var_os("HULL_TEST_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_hull")),
    }
}

/// Base directory for all test scratch files (on the target dir's filesystem).
pub fn tmp_base() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hull-it");
    fs::create_dir_all(&p).unwrap();
    // Must be traversable by other uids (user-namespace tests map root to 100000).
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// A short name unique to this process and call: `<tag>-<pid>-<n>`.
pub fn unique(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let tag: String = tag
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(24)
        .collect();
    // Fixed-width counter: no id is a substring of another id.
    format!("{}-{}-{:04}", tag, std::process::id(), n)
}

/// Name of the running test (libtest names threads after tests), shortened.
fn test_tag() -> String {
    let name = std::thread::current().name().unwrap_or("t").to_string();
    name.rsplit("::").next().unwrap_or("t").to_string()
}

fn mkdir_0755(p: &Path) {
    fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
}

// ---------------------------------------------------------------------------
// Commands with a timeout
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// The hull runner
// ---------------------------------------------------------------------------

/// Runs hull with a unique `--root`. On drop: `delete -f` every container it
/// knows of (ids from `id()` plus whatever is in the state root), then removes
/// its temp dir.
pub struct Hull {
    /// Scratch dir of this runner: holds `root/` and `io/`.
    pub dir: PathBuf,
    /// The state root passed as `--root`.
    pub root: PathBuf,
    io: PathBuf,
    ids: Mutex<Vec<String>>,
}

impl Hull {
    pub fn new() -> Hull {
        let dir = tmp_base().join(format!("h-{}", unique(&test_tag())));
        let root = dir.join("root");
        let io = dir.join("io");
        mkdir_0755(&dir);
        fs::create_dir_all(&io).unwrap();
        Hull {
            dir,
            root,
            io,
            ids: Mutex::new(Vec::new()),
        }
    }

    pub fn root_str(&self) -> &str {
        self.root.to_str().unwrap()
    }

    /// A fresh container id, remembered for cleanup.
    pub fn id(&self, tag: &str) -> String {
        let id = unique(tag);
        self.ids.lock().unwrap().push(id.clone());
        id
    }

    /// Start `hull --root ROOT args...` without waiting.
    pub fn spawn(&self, args: &[&str]) -> Spawned {
        let mut full: Vec<&str> = vec!["--root", self.root_str()];
        full.extend_from_slice(args);
        spawn_cmd(&hull_bin(), &full, &self.io)
    }

    /// `spawn` with extra environment variables (e.g. HULL_FAULT).
    pub fn spawn_env(&self, env: &[(&str, &str)], args: &[&str]) -> Spawned {
        let mut full: Vec<&str> = vec!["--root", self.root_str()];
        full.extend_from_slice(args);
        spawn_cmd_env(&hull_bin(), &full, &self.io, env)
    }

    /// `hull --root ROOT args...` with the default timeout.
    pub fn run(&self, args: &[&str]) -> Out {
        self.spawn(args).wait()
    }

    /// Like `run` but panics unless the exit code is 0.
    pub fn ok(&self, args: &[&str]) -> Out {
        let out = self.run(args);
        assert_eq!(out.code, 0, "expected success{out}");
        out
    }

    /// hull without `--root` (e.g. `spec`, `--version`).
    pub fn bare(&self, args: &[&str]) -> Out {
        spawn_cmd(&hull_bin(), args, &self.io).wait()
    }

    /// hull without `--root`, run in directory `cwd`.
    pub fn bare_in(&self, cwd: &Path, args: &[&str]) -> Out {
        spawn_cmd_in(&hull_bin(), args, &self.io, Some(cwd)).wait()
    }

    /// Write `b`'s config and `hull run -b BUNDLE <fresh id>` in the foreground.
    pub fn run_bundle(&self, b: &Bundle) -> Out {
        b.write();
        let id = self.id("run");
        self.run(&["run", "-b", b.path_str(), &id])
    }

    /// Run `sh -c SCRIPT` in bundle `b` (config written first); panics unless
    /// it exits 0. Returns the output.
    pub fn sh(&self, b: &mut Bundle, script: &str) -> Out {
        b.sh(script);
        let out = self.run_bundle(b);
        assert_eq!(out.code, 0, "container script failed{out}");
        out
    }

    /// `hull state ID` parsed; panics on failure.
    pub fn state(&self, id: &str) -> Value {
        let out = self.ok(&["state", id]);
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("state output is not JSON: {e}{out}"))
    }

    /// `status` field of `hull state ID`, or None if the command fails.
    pub fn status(&self, id: &str) -> Option<String> {
        let out = self.run(&["state", id]);
        if out.code != 0 {
            return None;
        }
        let v: Value = serde_json::from_str(&out.stdout).ok()?;
        v["status"].as_str().map(str::to_string)
    }

    /// Poll `state` until status == `want` (up to WAIT_TIMEOUT); panics otherwise.
    pub fn wait_status(&self, id: &str, want: &str) -> Value {
        let mut last = None;
        let ok = wait_until(WAIT_TIMEOUT, || {
            last = self.status(id);
            last.as_deref() == Some(want)
        });
        assert!(
            ok,
            "container {id} never reached status {want:?} (last: {last:?})"
        );
        self.state(id)
    }

    /// `pid` of the container per `hull state`.
    pub fn pid(&self, id: &str) -> i64 {
        self.state(id)["pid"]
            .as_i64()
            .expect("state.pid is a number")
    }

    /// `create -b BUNDLE ID` then `start ID`; panics on failure.
    pub fn create_start(&self, b: &Bundle, id: &str) {
        self.ok(&["create", "-b", b.path_str(), id]);
        self.ok(&["start", id]);
    }

    /// The state dir `<root>/<id>`.
    pub fn state_dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }
}

impl Default for Hull {
    fn default() -> Self {
        Hull::new()
    }
}

impl Drop for Hull {
    fn drop(&mut self) {
        let mut ids: BTreeSet<String> = self.ids.lock().unwrap().iter().cloned().collect();
        if let Ok(rd) = fs::read_dir(&self.root) {
            for e in rd.flatten() {
                if e.path().is_dir() {
                    ids.insert(e.file_name().to_string_lossy().into_owned());
                }
            }
        }
        for id in &ids {
            if self.root.join(id).exists() {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.spawn(&["delete", "-f", id])
                        .wait_timeout(Duration::from_secs(20))
                }));
                if let Ok(out) = r
                    && out.code != 0
                {
                    eprintln!("cleanup: delete -f {id} failed{out}");
                }
            }
        }
        if std::env::var_os("HULL_TEST_KEEP").is_none() && mounts_under(&self.dir).is_empty() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

// ---------------------------------------------------------------------------
// Rootfs and bundles
// ---------------------------------------------------------------------------

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
user:x:1000:1000:user:/home/user:/bin/sh\n\
nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP: &str = "root:x:0:\nwheel:x:10:\nusers:x:100:\nuser:x:1000:\nnogroup:x:65534:\n";

/// Path of the cached busybox rootfs (built once per machine, atomically).
pub fn cached_rootfs() -> PathBuf {
    let dest = tmp_base().join("rootfs-busybox-v1");
    if dest.join("bin/busybox").exists() {
        return dest;
    }
    let tmp = tmp_base().join(format!(".rootfs-build-{}", unique("x")));
    build_rootfs(&tmp);
    // Atomic publish: if another test binary won the race, rename fails
    // (destination not empty) and we just drop our copy.
    if fs::rename(&tmp, &dest).is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    assert!(
        dest.join("bin/busybox").exists(),
        "rootfs cache missing at {}",
        dest.display()
    );
    dest
}

/// Build a busybox rootfs at `dir` (same layout as bundles/busybox/build.sh).
pub fn build_rootfs(dir: &Path) {
    for d in [
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "etc",
        "proc",
        "sys",
        "dev",
        "root",
        "home/user",
        "var/run",
        "var/tmp",
        "run",
        "mnt",
        "opt",
    ] {
        mkdir_0755(&dir.join(d));
    }
    let tmp = dir.join("tmp");
    fs::create_dir_all(&tmp).unwrap();
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777)).unwrap();
    fs::set_permissions(dir.join("root"), fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(dir.join("home/user"), Some(1000), Some(1000)).unwrap();

    let bb = dir.join("bin/busybox");
    fs::copy("/bin/busybox", &bb).expect("copy /bin/busybox (install busybox-static)");
    fs::set_permissions(&bb, fs::Permissions::from_mode(0o755)).unwrap();
    let list = Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .expect("busybox --list");
    assert!(list.status.success());
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let applet = applet.trim();
        if applet.is_empty() || applet == "busybox" || applet.contains('/') {
            continue;
        }
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet)).unwrap();
    }
    let write = |p: &str, s: &str| {
        fs::write(dir.join(p), s).unwrap();
        fs::set_permissions(dir.join(p), fs::Permissions::from_mode(0o644)).unwrap();
    };
    write("etc/passwd", PASSWD);
    write("etc/group", GROUP);
    write("etc/hostname", "hull\n");
    write("etc/hosts", "127.0.0.1\tlocalhost\n");
    write("etc/resolv.conf", "");
}

/// A temporary OCI bundle: busybox rootfs + config.json from `hull spec`.
pub struct Bundle {
    pub dir: PathBuf,
    /// config.json as parsed JSON; edit it, then call `write()`.
    pub config: Value,
}

impl Bundle {
    /// Bundle with the spec's config, except `process.terminal = false`. Already written.
    pub fn new() -> Bundle {
        let mut b = Bundle::new_raw();
        b.terminal(false);
        b.write();
        b
    }

    /// Bundle with config.json exactly as `hull spec` wrote it.
    pub fn new_raw() -> Bundle {
        let dir = tmp_base().join(format!("b-{}", unique(&test_tag())));
        mkdir_0755(&dir);
        let rootfs = dir.join("rootfs");
        let cp = Command::new("cp")
            .arg("-a")
            .arg(cached_rootfs())
            .arg(&rootfs)
            .status()
            .unwrap();
        assert!(cp.success(), "cp -a rootfs failed");
        let io = dir.join(".io");
        fs::create_dir_all(&io).unwrap();
        let out = spawn_cmd(&hull_bin(), &["spec", "-b", dir.to_str().unwrap()], &io).wait();
        let _ = fs::remove_dir_all(&io);
        assert_eq!(out.code, 0, "hull spec failed{out}");
        let text =
            fs::read_to_string(dir.join("config.json")).expect("hull spec wrote no config.json");
        let config = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("config.json from hull spec is not JSON: {e}\n{text}"));
        Bundle { dir, config }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
    pub fn path_str(&self) -> &str {
        self.dir.to_str().unwrap()
    }
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// A path for a unix socket that belongs to this bundle. It lives under /tmp rather than in
    /// the bundle because sun_path holds 108 bytes and a checkout's path can be longer than that
    /// leaves room for. Removed when the bundle is dropped.
    pub fn socket(&self, name: &str) -> PathBuf {
        let dir = self.socket_dir();
        mkdir_0755(&dir);
        dir.join(name)
    }

    fn socket_dir(&self) -> PathBuf {
        let leaf = self.dir.file_name().and_then(|n| n.to_str()).unwrap_or("b");
        // The bundle's own name ends in `<pid>-<n>`, which makes it unique; keep that end.
        let tail: String = leaf
            .chars()
            .rev()
            .take(24)
            .collect::<String>()
            .chars()
            .rev()
            .collect();
        PathBuf::from("/tmp").join(format!("hull-sock-{tail}"))
    }

    /// Write `config` back to config.json.
    pub fn write(&self) {
        fs::write(
            self.config_path(),
            serde_json::to_string_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }

    /// Set a value by JSON pointer (`/process/cwd`), creating objects on the way.
    pub fn set(&mut self, pointer: &str, v: Value) -> &mut Self {
        let mut cur = &mut self.config;
        let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            if let Ok(idx) = part.parse::<usize>()
                && cur.is_array()
            {
                let arr = cur.as_array_mut().unwrap();
                if last {
                    arr[idx] = v;
                    return self;
                }
                cur = &mut arr[idx];
                continue;
            }
            if !cur.is_object() {
                *cur = json!({});
            }
            let obj = cur.as_object_mut().unwrap();
            if last {
                obj.insert(part.to_string(), v);
                return self;
            }
            cur = obj.entry(part.to_string()).or_insert(json!({}));
        }
        self
    }

    /// Remove a value by JSON pointer (no-op if absent).
    pub fn unset(&mut self, pointer: &str) -> &mut Self {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        if let Some(p) = self
            .config
            .pointer_mut(if parent.is_empty() { "" } else { parent })
        {
            match p {
                Value::Object(m) => {
                    m.remove(key);
                }
                Value::Array(a) => {
                    if let Ok(i) = key.parse::<usize>()
                        && i < a.len()
                    {
                        a.remove(i);
                    }
                }
                _ => {}
            }
        }
        self
    }

    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.set("/process/args", json!(args))
    }
    /// `sh -c SCRIPT`
    pub fn sh(&mut self, script: &str) -> &mut Self {
        self.args(&["sh", "-c", script])
    }
    pub fn terminal(&mut self, on: bool) -> &mut Self {
        self.set("/process/terminal", json!(on))
    }
    pub fn hostname(&mut self, name: &str) -> &mut Self {
        self.set("/hostname", json!(name))
    }
    pub fn readonly_root(&mut self, ro: bool) -> &mut Self {
        self.set("/root/readonly", json!(ro))
    }
    pub fn env(&mut self, kv: &str) -> &mut Self {
        let env = self.config["process"]["env"].as_array_mut();
        match env {
            Some(e) => e.push(json!(kv)),
            None => {
                self.set("/process/env", json!([kv]));
            }
        }
        self
    }

    pub fn namespaces(&mut self) -> &mut Vec<Value> {
        if !self.config["linux"]["namespaces"].is_array() {
            self.set("/linux/namespaces", json!([]));
        }
        self.config["linux"]["namespaces"].as_array_mut().unwrap()
    }
    /// Add (or replace) a namespace, optionally joining `path`.
    pub fn add_namespace(&mut self, typ: &str, path: Option<&str>) -> &mut Self {
        self.remove_namespace(typ);
        let ns = match path {
            Some(p) => json!({"type": typ, "path": p}),
            None => json!({"type": typ}),
        };
        self.namespaces().push(ns);
        self
    }
    pub fn remove_namespace(&mut self, typ: &str) -> &mut Self {
        self.namespaces().retain(|n| n["type"] != typ);
        self
    }
    pub fn has_namespace(&self, typ: &str) -> bool {
        self.config["linux"]["namespaces"]
            .as_array()
            .is_some_and(|a| a.iter().any(|n| n["type"] == typ))
    }

    /// Append an entry to `mounts`.
    pub fn add_mount(&mut self, m: Value) -> &mut Self {
        if !self.config["mounts"].is_array() {
            self.set("/mounts", json!([]));
        }
        self.config["mounts"].as_array_mut().unwrap().push(m);
        self
    }

    /// A fresh host dir (inside the bundle dir, outside the rootfs) bind-mounted
    /// at `dest` in the container with `options` (e.g. ["rbind","rw"]). The
    /// mount point is pre-created in the rootfs. Returns the host path.
    pub fn bind_dir(&mut self, dest: &str, options: &[&str]) -> PathBuf {
        let host = self.dir.join(format!("host{}", dest.replace('/', "_")));
        fs::create_dir_all(&host).unwrap();
        fs::set_permissions(&host, fs::Permissions::from_mode(0o777)).unwrap();
        let mp = self.rootfs().join(dest.trim_start_matches('/'));
        fs::create_dir_all(&mp).unwrap();
        self.add_mount(json!({
            "destination": dest,
            "type": "bind",
            "source": host.to_str().unwrap(),
            "options": options,
        }));
        host
    }

    /// Set `process.user`.
    pub fn user(&mut self, uid: u32, gid: u32, additional: &[u32]) -> &mut Self {
        self.set("/process/user/uid", json!(uid));
        self.set("/process/user/gid", json!(gid));
        if additional.is_empty() {
            self.unset("/process/user/additionalGids");
        } else {
            self.set("/process/user/additionalGids", json!(additional));
        }
        self
    }

    /// Add a user namespace mapping container 0.. to host `host_id`.. (size
    /// `size`), and chown the rootfs copy to match.
    pub fn userns(&mut self, host_id: u32, size: u32) -> &mut Self {
        self.add_namespace("user", None);
        let map = json!([{"containerID": 0, "hostID": host_id, "size": size}]);
        self.set("/linux/uidMappings", map.clone());
        self.set("/linux/gidMappings", map);
        let st = Command::new("chown")
            .args(["-R", "-h", &format!("{host_id}:{host_id}")])
            .arg(self.rootfs())
            .status()
            .unwrap();
        assert!(st.success(), "chown rootfs failed");
        self
    }
}

impl Default for Bundle {
    fn default() -> Self {
        Bundle::new()
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        // Last-resort cleanup of leftovers from a failed test: processes that
        // live in this bundle (started by this test through hull) and mounts.
        for pid in procs_using(&self.dir) {
            unsafe { libc_kill(pid, 9) };
        }
        umount_all_under(&self.dir);
        if std::env::var_os("HULL_TEST_KEEP").is_none() && mounts_under(&self.dir).is_empty() {
            let _ = fs::remove_dir_all(&self.dir);
        }
        let _ = fs::remove_dir_all(self.socket_dir());
    }
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Send signal `sig` to `pid` (a process this test started).
pub fn kill_pid(pid: i32, sig: i32) {
    unsafe { libc_kill(pid, sig) };
}

// ---------------------------------------------------------------------------
// Residue checks
// ---------------------------------------------------------------------------

/// Lazily unmounts everything mounted under `path`, innermost first.
pub fn umount_all_under(path: &Path) {
    for m in mounts_under(path).iter().rev() {
        let _ = Command::new("umount").arg("-l").arg(m).status();
    }
}

/// Mount points in the host's /proc/self/mountinfo at or under `path`, or whose
/// line mentions `path` at all (e.g. as the mount's root).
pub fn mounts_under(path: &Path) -> Vec<String> {
    let p = path.to_str().unwrap();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(p))
        .map(|l| l.split_whitespace().nth(4).unwrap_or("").to_string())
        .collect()
}

/// Is process `pid` alive (and not a zombie)?
pub fn pid_alive(pid: i64) -> bool {
    if pid <= 0 {
        return false;
    }
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
            !after.trim_start().starts_with('Z') && !after.trim_start().starts_with('X')
        }
        Err(_) => false,
    }
}

/// Processes (other than us) that live in `dir`: their root or cwd is `dir` or
/// a directory inside it (compared by device+inode, so pivot_root'ed
/// containers are found too), or their command line mentions `dir`.
pub fn procs_using(dir: &Path) -> Vec<i32> {
    let dir_s = dir.to_str().unwrap().to_string();
    let mut targets: Vec<(u64, u64)> = Vec::new();
    let mut add = |p: &Path| {
        if let Ok(m) = fs::metadata(p) {
            targets.push((m.dev(), m.ino()));
        }
    };
    add(dir);
    add(&dir.join("rootfs"));
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    for (pid, base) in live_procs() {
        if pid == me {
            continue;
        }
        let mut hit = false;
        for l in ["root", "cwd"] {
            let link = base.join(l);
            if let Ok(t) = fs::read_link(&link)
                && t.to_string_lossy().starts_with(&dir_s)
            {
                hit = true;
            }
            if let Ok(m) = fs::metadata(&link)
                && targets.contains(&(m.dev(), m.ino()))
            {
                hit = true;
            }
        }
        if let Ok(cmd) = fs::read(base.join("cmdline"))
            && String::from_utf8_lossy(&cmd).contains(&dir_s)
        {
            hit = true;
        }
        if hit {
            found.push(pid);
        }
    }
    found
}

/// Live processes whose root directory is `dir` (compared by device+inode,
/// so it finds pivot_root'ed container processes).
pub fn procs_rooted_in(dir: &Path) -> Vec<i32> {
    let Ok(want) = fs::metadata(dir) else {
        return Vec::new();
    };
    live_procs()
        .into_iter()
        .filter(|(_, base)| {
            fs::metadata(base.join("root"))
                .is_ok_and(|m| m.dev() == want.dev() && m.ino() == want.ino())
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Live processes in the same pid namespace as `pid` (e.g. a container's init).
pub fn procs_in_pidns_of(pid: i64) -> Vec<i32> {
    let Ok(want) = fs::read_link(format!("/proc/{pid}/ns/pid")) else {
        return Vec::new();
    };
    live_procs()
        .into_iter()
        .filter(|(_, base)| fs::read_link(base.join("ns/pid")).ok().as_ref() == Some(&want))
        .map(|(pid, _)| pid)
        .collect()
}

/// Processes whose command line contains `needle` (e.g. a container id).
pub fn procs_with_cmdline(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    live_procs()
        .into_iter()
        .filter(|(pid, base)| {
            *pid != me
                && fs::read(base.join("cmdline")).is_ok_and(|cmd| {
                    String::from_utf8_lossy(&cmd)
                        .replace('\0', " ")
                        .contains(needle)
                })
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Live processes whose real uid is `uid` (a test user's).
pub fn procs_of_uid(uid: u32) -> Vec<i32> {
    let want = uid.to_string();
    live_procs()
        .into_iter()
        .filter(|(_, base)| {
            fs::read_to_string(base.join("status")).is_ok_and(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|l| l.split_whitespace().next())
                    == Some(want.as_str())
            })
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Live processes (not zombies), each with its /proc directory.
fn live_procs() -> Vec<(i32, PathBuf)> {
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().parse::<i32>().ok()?;
            pid_alive(pid as i64).then(|| (pid, e.path()))
        })
        .collect()
}

/// Cgroup directories (any hierarchy under /sys/fs/cgroup, depth <= 5) whose
/// name contains `needle`.
pub fn cgroups_named(needle: &str) -> Vec<PathBuf> {
    fn walk(d: &Path, depth: usize, needle: &str, out: &mut Vec<PathBuf>) {
        if depth == 0 {
            return;
        }
        let Ok(rd) = fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue; // skips symlinks like cpu,cpuacct
            }
            if e.file_name().to_string_lossy().contains(needle) {
                out.push(e.path());
            }
            walk(&e.path(), depth - 1, needle, out);
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), 5, needle, &mut out);
    out
}

/// Assert that nothing is left of container `id` / bundle `b`: no state entry,
/// no mount mentioning the bundle or the state root, no process in the
/// bundle or mentioning the id, no cgroup named after the id.
pub fn assert_no_residue(h: &Hull, b: &Bundle, id: &str) {
    // Give a dying process a moment to be reaped.
    let mut procs = Vec::new();
    wait_until(Duration::from_secs(3), || {
        procs = procs_using(b.path());
        procs.extend(procs_with_cmdline(id));
        procs.is_empty()
    });
    let describe = |pids: &[i32]| -> String {
        pids.iter()
            .map(|p| {
                let cmd = fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
                format!("{p}: {}", String::from_utf8_lossy(&cmd).replace('\0', " "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    assert!(
        procs.is_empty(),
        "processes left behind for {id}: {}",
        describe(&procs)
    );
    assert_no_state_entry(h, id);
    let m = mounts_under(b.path());
    assert!(m.is_empty(), "mounts left behind under the bundle: {m:?}");
    let m = mounts_under(&h.root);
    assert!(
        m.is_empty(),
        "mounts left behind under the state root: {m:?}"
    );
    let cg = cgroups_named(id);
    assert!(cg.is_empty(), "cgroups left behind for {id}: {cg:?}");
}

/// Assert the state root has no entry (file or dir) named after / containing `id`.
pub fn assert_no_state_entry(h: &Hull, id: &str) {
    assert!(
        fs::symlink_metadata(h.state_dir(id)).is_err(),
        "state entry {} left behind",
        h.state_dir(id).display()
    );
    if let Ok(rd) = fs::read_dir(&h.root) {
        let left: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(id))
            .collect();
        assert!(left.is_empty(), "state root has entries for {id}: {left:?}");
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

// ---------------------------------------------------------------------------
// Small helpers for assertions on container output
// ---------------------------------------------------------------------------

/// Parse mountinfo text into (mount point, fs type, per-mount options, super options).
pub fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|l| {
            let (a, b) = l.split_once(" - ")?;
            let a: Vec<&str> = a.split_whitespace().collect();
            let b: Vec<&str> = b.split_whitespace().collect();
            Some(MountInfo {
                root: a.get(3)?.to_string(),
                mount_point: a.get(4)?.to_string(),
                options: a.get(5)?.split(',').map(str::to_string).collect(),
                fstype: b.first()?.to_string(),
                source: b.get(1).unwrap_or(&"").to_string(),
                super_options: b
                    .get(2)
                    .unwrap_or(&"")
                    .split(',')
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct MountInfo {
    pub root: String,
    pub mount_point: String,
    pub options: Vec<String>,
    pub fstype: String,
    pub source: String,
    pub super_options: Vec<String>,
}

impl MountInfo {
    pub fn has_opt(&self, o: &str) -> bool {
        self.options.iter().any(|x| x == o) || self.super_options.iter().any(|x| x == o)
    }
}

/// Value of a `Key:\tvalue` line in /proc/<pid>/status-style text.
pub fn status_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::trim))
}

/// Inode of a namespace link target like `net:[4026531840]`.
pub fn ns_inode(link: &str) -> Option<u64> {
    link.trim()
        .rsplit_once('[')?
        .1
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// The receiving end of `--console-socket` (runc's protocol): accepts one connection within
/// `timeout` and returns the pty master it carries, or None if none comes.
pub fn receive_pty_master(
    listener: std::os::unix::net::UnixListener,
    timeout: Duration,
) -> Option<std::os::fd::OwnedFd> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::os::fd::{AsRawFd, FromRawFd};
    listener.set_nonblocking(true).ok()?;
    let deadline = std::time::Instant::now() + timeout;
    let conn = loop {
        match listener.accept() {
            Ok((c, _)) => break c,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(_) => return None,
        }
    };
    conn.set_nonblocking(false).ok()?;
    let mut buf = [0u8; 256];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .ok()?;
    for c in msg.cmsgs().ok()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY (test): SCM_RIGHTS gave us this fd.
            return Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fds[0]) });
        }
    }
    None
}

/// Runs `cmd` with a fresh `--console-socket` at `sock` (its path is passed to `cmd`) and returns
/// what it printed and the pty master the socket received, if any.
pub fn with_console_socket(
    sock: &Path,
    cmd: impl FnOnce(&str) -> Out,
) -> (Out, Option<std::os::fd::OwnedFd>) {
    let listener = std::os::unix::net::UnixListener::bind(sock).unwrap();
    let receiver = std::thread::spawn(move || receive_pty_master(listener, WAIT_TIMEOUT));
    let out = cmd(sock.to_str().unwrap());
    (out, receiver.join().unwrap())
}
