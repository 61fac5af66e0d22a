//! The hull runner: each test's own `--root`, cleaned up on drop.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::bundle::Bundle;
use super::cmd::{Out, Spawned, WAIT_TIMEOUT, spawn_cmd, spawn_cmd_env, spawn_cmd_in, wait_until};
use super::residue::mounts_under;
use super::scratch::{mkdir_0755, test_tag, tmp_base, unique};

/// The runtime under test.
pub fn hull_bin() -> PathBuf {
    match std::env::var_os("HULL_TEST_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_hull")),
    }
}

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
