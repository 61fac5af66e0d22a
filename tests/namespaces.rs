//! Namespaces: new ones per config, joining existing ones by path, user
//! namespace mappings (runc's userns.bats / netns.bats).
mod common;
use common::*;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, Stdio};

/// proc name -> OCI type
const NS: [(&str, &str); 7] = [
    ("pid", "pid"),
    ("net", "network"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("mnt", "mount"),
    ("cgroup", "cgroup"),
    ("user", "user"),
];

fn host_ns(proc_name: &str) -> u64 {
    fs::metadata(format!("/proc/self/ns/{proc_name}"))
        .unwrap()
        .ino()
}

/// Inside the container: `<proc name> <inode>` for every namespace.
fn container_ns(h: &Hull, b: &mut Bundle) -> BTreeMap<String, u64> {
    let out = h.sh(
        b,
        "for n in pid net ipc uts mnt cgroup user; do echo $n $(readlink /proc/self/ns/$n); done",
    );
    out.stdout
        .lines()
        .map(|l| {
            let (n, link) = l.split_once(' ').unwrap();
            (
                n.to_string(),
                ns_inode(link).unwrap_or_else(|| panic!("bad ns link {l:?}{out}")),
            )
        })
        .collect()
}

#[test]
fn namespaces_follow_config() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.add_namespace("cgroup", None);
    let inside = container_ns(&h, &mut b);
    for (proc_name, oci) in NS {
        let same = inside[proc_name] == host_ns(proc_name);
        if b.has_namespace(oci) {
            assert!(
                !same,
                "{proc_name}: configured but shares the host's namespace"
            );
        } else {
            assert!(
                same,
                "{proc_name}: not configured but differs from the host's"
            );
        }
    }
}

#[test]
fn without_namespaces_host_ones_are_shared() {
    let h = Hull::new();
    let mut b = Bundle::new();
    for t in ["network", "ipc", "uts", "cgroup", "pid"] {
        b.remove_namespace(t);
    }
    b.unset("/hostname"); // a hostname needs its own uts namespace
    let inside = container_ns(&h, &mut b);
    for n in ["net", "ipc", "uts", "cgroup", "pid"] {
        assert_eq!(inside[n], host_ns(n), "{n} should be the host's");
    }
    assert_ne!(inside["mnt"], host_ns("mnt"));
}

#[test]
fn new_network_namespace_has_only_loopback() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out = h.sh(
        &mut b,
        "ls /sys/class/net; echo ---; tail -n +3 /proc/net/dev | cut -d: -f1",
    );
    let (sys, dev) = out.stdout.split_once("---\n").unwrap();
    assert_eq!(sys.split_whitespace().collect::<Vec<_>>(), ["lo"], "{out}");
    assert_eq!(dev.split_whitespace().collect::<Vec<_>>(), ["lo"], "{out}");
}

/// As with runc and crun, a new network namespace has `lo` up with 127.0.0.1, and a server on
/// 127.0.0.1 answers (here busybox's nc), also inside a new user namespace.
#[test]
fn new_network_namespace_has_loopback_up() {
    let h = Hull::new();
    for userns in [false, true] {
        let mut b = Bundle::new();
        if userns {
            b.userns(100000, 65536);
        }
        let out = h.sh(
            &mut b,
            "cat /sys/class/net/lo/flags; ip -4 addr show dev lo; \
             nc -l -p 4242 > /dev/shm/got & \
             for i in $(seq 100); do echo hello | nc 127.0.0.1 4242 && break; sleep 0.1; done; \
             wait; echo got=$(cat /dev/shm/got)",
        );
        assert_eq!(out.code, 0, "userns={userns}{out}");
        let flags = u32::from_str_radix(
            out.stdout
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("0x"),
            16,
        )
        .unwrap_or(0);
        assert_eq!(flags & 1, 1, "lo is not up (IFF_UP), userns={userns}{out}");
        assert!(
            out.stdout.contains("inet 127.0.0.1/8"),
            "userns={userns}{out}"
        );
        assert!(out.stdout.contains("got=hello"), "userns={userns}{out}");
    }
}

/// A named network namespace (`ip netns add`), deleted on drop.
struct NetNs(String);
impl NetNs {
    fn new() -> NetNs {
        let name = unique("hulltest");
        let out = host("ip", &["netns", "add", &name]);
        assert_eq!(out.code, 0, "ip netns add{out}");
        NetNs(name)
    }
    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }
}
impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = host("ip", &["netns", "del", &self.0]);
    }
}

#[test]
fn join_network_namespace_by_path() {
    let ns = NetNs::new();
    // Make the namespace recognisable: bring lo up in it.
    let out = host(
        "ip",
        &["netns", "exec", &ns.0, "ip", "link", "set", "lo", "up"],
    );
    assert_eq!(out.code, 0, "{out}");
    let want = fs::metadata(ns.path()).unwrap().ino();

    let h = Hull::new();
    let mut b = Bundle::new();
    b.add_namespace("network", Some(&ns.path()));
    let out = h.sh(
        &mut b,
        "readlink /proc/self/ns/net; cat /sys/class/net/lo/operstate; cat /proc/net/dev",
    );
    let first = out.stdout.lines().next().unwrap();
    assert_eq!(ns_inode(first), Some(want), "joined the wrong netns{out}");
    assert_ne!(want, host_ns("net"));
    assert!(
        out.stdout.contains("\nunknown\n"),
        "lo should be up in the joined netns{out}"
    );
    // The namespace is still there and usable after the container is gone.
    assert_eq!(fs::metadata(ns.path()).unwrap().ino(), want);
}

/// A process in a fresh uts namespace with hostname `name`, killed on drop.
struct UtsHolder {
    child: Child,
}
impl UtsHolder {
    fn new(name: &str) -> UtsHolder {
        let child = Command::new("unshare")
            .args([
                "--uts",
                "sh",
                "-c",
                &format!("hostname {name} && exec sleep 1000"),
            ])
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare");
        let holder = UtsHolder { child };
        let pid = holder.pid();
        let ok = wait_until(WAIT_TIMEOUT, || {
            let cmd = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            cmd.starts_with(b"sleep\0")
        });
        assert!(ok, "unshare --uts helper did not start");
        holder
    }
    fn pid(&self) -> u32 {
        self.child.id()
    }
    fn ns_path(&self) -> String {
        format!("/proc/{}/ns/uts", self.pid())
    }
}
impl Drop for UtsHolder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn join_uts_namespace_by_path() {
    let name = unique("joined");
    let holder = UtsHolder::new(&name);
    let want = fs::metadata(holder.ns_path()).unwrap().ino();
    assert_ne!(want, host_ns("uts"));

    let h = Hull::new();
    let mut b = Bundle::new();
    b.add_namespace("uts", Some(&holder.ns_path()));
    b.unset("/hostname"); // keep the joined namespace's hostname
    let out = h.sh(&mut b, "hostname; readlink /proc/self/ns/uts");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], name, "{out}");
    assert_eq!(ns_inode(lines[1]), Some(want), "{out}");
    // Joining did not change the namespace's hostname.
    let check = host(
        "nsenter",
        &["-t", &holder.pid().to_string(), "-u", "hostname"],
    );
    assert_eq!(check.out(), name, "{check}");
}

#[test]
fn join_nonexistent_namespace_path_fails_cleanly() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["true"]);
    b.add_namespace("network", Some("/nonexistent/hull-netns"));
    b.write();
    let id = h.id("nsbad");
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "/nonexistent/hull-netns");
    assert_no_residue(&h, &b, &id);
}

#[test]
fn join_namespace_of_wrong_type_fails_cleanly() {
    // A uts namespace file given as the network namespace.
    let holder = UtsHolder::new(&unique("wrong"));
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["true"]);
    b.add_namespace("network", Some(&holder.ns_path()));
    b.write();
    let id = h.id("nswrong");
    let out = h.run(&["run", "-b", b.path_str(), &id]);
    assert_ne!(out.code, 0, "joining a uts ns as network must fail{out}");
    assert!(
        out.stderr.trim_end().lines().count() == 1,
        "one-line error{out}"
    );
    assert_no_residue(&h, &b, &id);
}

#[test]
fn user_namespace_maps_ids() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.userns(100000, 65536);
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("userns");
    h.create_start(&b, &id);
    let pid = h.pid(&id);
    // From the host: the init runs as host uid 100000.
    let st = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(
        status_field(&st, "Uid"),
        Some("100000\t100000\t100000\t100000"),
        "{st}"
    );
    assert_eq!(
        status_field(&st, "Gid"),
        Some("100000\t100000\t100000\t100000"),
        "{st}"
    );
    let norm = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        norm(fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap()),
        "0 100000 65536"
    );
    h.ok(&["delete", "-f", &id]);

    // From the inside.
    let mut b2 = Bundle::new();
    b2.userns(100000, 65536);
    let out = h.sh(
        &mut b2,
        "cat /proc/self/uid_map; cat /proc/self/gid_map; id -u; id -g; readlink /proc/self/ns/user",
    );
    let lines: Vec<String> = out.stdout.lines().map(|l| norm(l.to_string())).collect();
    assert_eq!(lines[0], "0 100000 65536", "{out}");
    assert_eq!(lines[1], "0 100000 65536", "{out}");
    assert_eq!(lines[2], "0", "{out}");
    assert_eq!(lines[3], "0", "{out}");
    assert_ne!(ns_inode(&lines[4]), Some(host_ns("user")), "{out}");
}

#[test]
fn user_namespace_without_mappings_is_rejected() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.add_namespace("user", None);
    b.unset("/linux/uidMappings");
    b.unset("/linux/gidMappings");
    b.args(&["true"]);
    b.write();
    let id = h.id("nomap");
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "uidMappings");
    assert_no_residue(&h, &b, &id);
}

#[test]
fn hostname_without_uts_namespace_is_rejected() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.remove_namespace("uts");
    b.hostname("nope");
    b.args(&["true"]);
    b.write();
    let id = h.id("nouts");
    let host_before = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "hostname");
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_before
    );
    assert_no_residue(&h, &b, &id);
}

#[test]
fn join_namespaces_of_another_container() {
    // Pod style: the second container joins the first one's pid, ipc and
    // network namespaces through /proc/<pid>/ns/*.
    let h = Hull::new();
    let mut first = Bundle::new();
    first.args(&["sleep", "1000"]);
    first.write();
    let a = h.id("pod-a");
    h.create_start(&first, &a);
    let pid = h.pid(&a);
    let ino = |n: &str| fs::metadata(format!("/proc/{pid}/ns/{n}")).unwrap().ino();

    let mut second = Bundle::new();
    for (oci, n) in [("pid", "pid"), ("ipc", "ipc"), ("network", "net")] {
        second.add_namespace(oci, Some(&format!("/proc/{pid}/ns/{n}")));
    }
    let out = h.sh(
        &mut second,
        "for n in pid ipc net; do readlink /proc/self/ns/$n; done; echo pid=$$; cat /proc/1/cmdline | tr '\\0' ' '",
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(ns_inode(lines[0]), Some(ino("pid")), "{out}");
    assert_eq!(ns_inode(lines[1]), Some(ino("ipc")), "{out}");
    assert_eq!(ns_inode(lines[2]), Some(ino("net")), "{out}");
    assert_ne!(
        lines[3], "pid=1",
        "joined pid namespace already has a pid 1{out}"
    );
    assert_eq!(
        lines[4].trim(),
        "sleep 1000",
        "pid 1 is the first container's{out}"
    );
    // The first container is unaffected.
    assert_eq!(h.status(&a).as_deref(), Some("running"));
    assert!(pid_alive(pid));
}

/// Idmapped bind mounts (`idmap`, and `ridmap`): in a user namespace mapping 0 → 100000, a volume's files owned
/// by host root and by uid 1000 show up owned by 0 and 1000, where a plain bind mount shows the
/// overflow id; and a file the container's root creates through it belongs to host root.
#[test]
fn idmapped_bind_mount_shows_host_owners_in_a_user_namespace() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.userns(100000, 65536);
    let plain = b.bind_dir("/plain", &["rbind"]);
    let mapped = b.bind_dir("/mapped", &["rbind", "idmap"]);
    let recursive = b.bind_dir("/rmapped", &["rbind", "ridmap"]);
    for d in [&plain, &mapped, &recursive] {
        fs::write(d.join("root-owned"), "").unwrap();
        fs::write(d.join("user-owned"), "").unwrap();
        std::os::unix::fs::chown(d.join("user-owned"), Some(1000), Some(1000)).unwrap();
    }
    b.sh("ls -ln /plain /mapped /rmapped; touch /mapped/new && echo created");
    let out = h.run_bundle(&b);
    assert!(out.ok(), "{out}");
    // `ls -ln` lists each directory under its own "/dir:" heading.
    let owners = |dir: &str, file: &str| -> String {
        let section = out.stdout.split(&format!("{dir}:")).nth(1).unwrap_or("");
        let line = section
            .lines()
            .find(|l| l.ends_with(&format!(" {file}")))
            .unwrap_or("");
        let f: Vec<&str> = line.split_whitespace().collect();
        f.get(2..4).map(|o| o.join(":")).unwrap_or_default()
    };
    assert_eq!(owners("/plain", "root-owned"), "65534:65534", "{out}");
    assert_eq!(owners("/plain", "user-owned"), "65534:65534", "{out}");
    assert_eq!(owners("/mapped", "root-owned"), "0:0", "{out}");
    assert_eq!(owners("/mapped", "user-owned"), "1000:1000", "{out}");
    assert_eq!(owners("/rmapped", "user-owned"), "1000:1000", "{out}");
    assert!(out.stdout.contains("created"), "{out}");
    let meta = fs::metadata(mapped.join("new")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (meta.uid(), meta.gid()),
        (0, 0),
        "new file's owner on the host"
    );
}

/// An idmapped mount whose mappings are not the container's own is refused up front, with no
/// residue (hull idmaps through the container's user namespace).
#[test]
fn idmapped_mount_with_other_mappings_is_refused() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.userns(100000, 65536);
    b.bind_dir("/mapped", &["rbind", "idmap"]);
    let last = b.config["mounts"].as_array().unwrap().len() - 1;
    let other = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    b.set(&format!("/mounts/{last}/uidMappings"), other.clone());
    b.set(&format!("/mounts/{last}/gidMappings"), other);
    b.args(&["true"]);
    b.write();
    let id = h.id("idmapother");
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "uidMappings");
    assert_no_residue(&h, &b, &id);
}

/// A source whose filesystem cannot be idmapped (procfs) fails create with the mount named, and
/// leaves nothing behind: the init, its cgroup and its state go.
#[test]
fn idmapped_mount_of_an_unsupporting_filesystem_fails_cleanly() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.userns(100000, 65536);
    std::fs::create_dir_all(b.rootfs().join("hostproc")).unwrap();
    b.add_mount(
        json!({"destination": "/hostproc", "type": "bind", "source": "/proc/sys",
                       "options": ["rbind", "idmap"]}),
    );
    b.args(&["true"]);
    b.write();
    let id = h.id("idmapproc");
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "idmapping /proc/sys");
    assert_no_residue(&h, &b, &id);
}

/// A user namespace joined by path with a new pid namespace, as an engine does for the
/// containers of a user-namespaced pod: the new pid namespace must belong to the joined user
/// namespace (else the container could not mount its /proc, which is what hull did before), and
/// the container's process is its pid 1, in the foreground and detached, with exec working.
#[test]
fn joined_user_namespace_with_a_new_pid_namespace() {
    let h = Hull::new();
    let mut owner = Bundle::new();
    owner.userns(100000, 65536);
    owner.args(&["sleep", "1000"]);
    owner.write();
    let owner_id = h.id("usrowner");
    h.create_start(&owner, &owner_id);
    let userns = format!("/proc/{}/ns/user", h.pid(&owner_id));
    let want = fs::read_link(&userns).unwrap();

    let mut b = Bundle::new();
    // The rootfs must be usable by the joined namespace's root (host uid 100000).
    b.userns(100000, 65536);
    b.unset("/linux/uidMappings");
    b.unset("/linux/gidMappings");
    b.add_namespace("user", Some(&userns));
    b.sh("echo pid=$$; readlink /proc/self/ns/user; ls /proc/1/ns >/dev/null && echo proc-ok; exit 7");
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 7, "{out}");
    assert!(out.stdout.contains("pid=1\n"), "{out}");
    assert!(
        out.stdout.contains(&format!("{}\n", want.display())),
        "{out}"
    );
    assert!(out.stdout.contains("proc-ok"), "{out}");

    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("usrjoined");
    let pid_file = b.path().join("pid");
    h.ok(&[
        "create",
        "-b",
        b.path_str(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
    ]);
    h.ok(&["start", &id]);
    let pid = h.pid(&id);
    assert_eq!(fs::read_to_string(&pid_file).unwrap(), pid.to_string());
    let st = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(
        status_field(&st, "NSpid"),
        Some(format!("{pid}\t1").as_str()),
        "{st}"
    );
    assert_eq!(fs::read_link(format!("/proc/{pid}/ns/user")).unwrap(), want);
    let out = h.ok(&[
        "exec",
        &id,
        "sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert_eq!(out.out(), "sleep 1000", "{out}");
    h.ok(&["delete", "-f", &id]);
    h.ok(&["delete", "-f", &owner_id]);
}

#[test]
fn time_offsets_move_the_container_clocks() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.add_namespace("time", None);
    let year = 365 * 86400;
    b.set(
        "/linux/timeOffsets",
        json!({"boottime": {"secs": year}, "monotonic": {"secs": 1000}}),
    );
    let host = |f: &str| -> f64 {
        std::fs::read_to_string(f)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let before = host("/proc/uptime");
    let out = h.sh(&mut b, "cat /proc/uptime");
    let inside: f64 = out
        .stdout
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let after = host("/proc/uptime");
    assert!(
        inside >= before + year as f64 && inside <= after + year as f64 + 1.0,
        "uptime inside {inside}, host {before}..{after}{out}"
    );

    // Offsets without a new time namespace, or for a clock that has none, are refused.
    b.remove_namespace("time");
    b.write();
    assert_one_line_error(&h.run_bundle(&b), "linux.timeOffsets");
    b.add_namespace("time", None);
    b.set("/linux/timeOffsets", json!({"realtime": {"secs": 1}}));
    b.write();
    assert_one_line_error(&h.run_bundle(&b), "linux.timeOffsets.realtime");
}

/// runc 1.1 opens the sources of bind mounts before the init enters its user namespace (its
/// mount fds): a source that the container's root (host uid 100000 here) cannot reach, under
/// a host directory only the host's root may search, is still mounted.
#[test]
fn userns_bind_source_the_container_user_cannot_reach_is_mounted() {
    use std::os::unix::fs::PermissionsExt;
    let h = Hull::new();
    let mut b = Bundle::new();
    b.userns(100000, 65536);
    let private = b.dir.join("private");
    let data = private.join("data");
    fs::create_dir_all(&data).unwrap();
    fs::write(data.join("file"), "reached\n").unwrap();
    fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(data.join("file"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).unwrap();
    b.add_mount(json!({
        "destination": "/data",
        "type": "bind",
        "source": data.to_str().unwrap(),
        "options": ["rbind", "ro"],
    }));
    let out = h.sh(&mut b, "cat /data/file");
    assert_eq!(out.out(), "reached", "{out}");
}
