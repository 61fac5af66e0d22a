//! Rootfs and bundles: a busybox rootfs copy plus the config.json `hull spec` writes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use super::cmd::spawn_cmd;
use super::hull::hull_bin;
use super::procs::{kill_pid, procs_using};
use super::residue::{mounts_under, umount_all_under};
use super::scratch::{mkdir_0755, test_tag, tmp_base, unique};

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

    /// Bundle whose process is `sleep 1000`: it runs until the test kills or deletes it. Already
    /// written.
    pub fn sleeping() -> Bundle {
        let mut b = Bundle::new();
        b.args(&["sleep", "1000"]);
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
            kill_pid(pid, 9);
        }
        umount_all_under(&self.dir);
        if std::env::var_os("HULL_TEST_KEEP").is_none() && mounts_under(&self.dir).is_empty() {
            let _ = fs::remove_dir_all(&self.dir);
        }
        let _ = fs::remove_dir_all(self.socket_dir());
    }
}
