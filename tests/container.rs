//! What the process sees inside the container: pid 1, hostname, mounts,
//! masked/readonly paths, rootfs, user, umask, rlimits, env, cwd, devices.
mod common;
use common::*;
use std::fs;

#[test]
fn user_process_is_pid_1() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out = h.sh(
        &mut b,
        "echo pid=$$; tr '\\0' ' ' < /proc/1/cmdline; echo; ls /proc | grep -c '^[0-9][0-9]*$'",
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "pid=1", "{out}");
    assert!(
        lines[1].starts_with("sh -c echo pid=$$"),
        "/proc/1 is the user's sh{out}"
    );
    // sh, ls, grep (+ maybe tr already gone): only the container's own processes.
    let n: usize = lines[2].trim().parse().unwrap();
    assert!(
        n <= 4,
        "host processes visible in the pid namespace: {n}{out}"
    );
}

#[test]
fn hostname_is_configured_one() {
    let before = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let h = Hull::new();
    let mut b = Bundle::new();
    b.hostname("hull-box-7");
    let out = h.sh(&mut b, "hostname; cat /proc/sys/kernel/hostname; uname -n");
    assert_eq!(out.stdout, "hull-box-7\nhull-box-7\nhull-box-7\n", "{out}");
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        before,
        "host hostname changed"
    );
}

#[test]
fn host_mounts_are_invisible() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out = h.sh(&mut b, "cat /proc/self/mountinfo");
    let mounts = parse_mountinfo(&out.stdout);
    assert!(!mounts.is_empty(), "{out}");
    assert!(
        mounts.len() < 60,
        "too many mounts inside ({}){out}",
        mounts.len()
    );
    let allowed = |mp: &str| {
        mp == "/"
            || ["/proc", "/dev", "/sys"]
                .iter()
                .any(|p| mp == *p || mp.starts_with(&format!("{p}/")))
    };
    for m in &mounts {
        assert!(
            allowed(&m.mount_point),
            "unexpected mount {:?} inside{out}",
            m.mount_point
        );
        assert!(
            !m.mount_point.contains("/work"),
            "host path visible: {}{out}",
            m.mount_point
        );
    }
    // Host mount points outside the allowed set must not be visible.
    let host = parse_mountinfo(&fs::read_to_string("/proc/self/mountinfo").unwrap());
    for hm in host.iter().filter(|m| !allowed(&m.mount_point)) {
        assert!(
            !mounts.iter().any(|m| m.mount_point == hm.mount_point),
            "host mount {} visible inside{out}",
            hm.mount_point
        );
    }
    let root: Vec<_> = mounts.iter().filter(|m| m.mount_point == "/").collect();
    assert_eq!(root.len(), 1, "exactly one / mount{out}");
    assert!(
        root[0].options.iter().any(|o| o == "ro"),
        "readonly root shows ro{out}"
    );
    for dest in [
        "/proc",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
        "/sys",
    ] {
        assert!(
            mounts.iter().any(|m| m.mount_point == dest),
            "{dest} not mounted{out}"
        );
    }
}

#[test]
fn configured_mounts_show_their_options() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.add_mount(json!({
        "destination": "/tmp2", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "noexec", "nodev", "size=4096k", "mode=750"]
    }));
    let ro = b.bind_dir("/hostro", &["rbind", "ro"]);
    fs::write(ro.join("file"), "from-host\n").unwrap();
    let rw = b.bind_dir("/hostrw", &["rbind", "rw"]);
    let out = h.sh(
        &mut b,
        "cat /proc/self/mountinfo; echo ---; stat -c %a /tmp2; cat /hostro/file; \
         touch /hostro/new 2>&1; echo rc=$?; echo written > /hostrw/new; \
         cp /bin/busybox /tmp2/bb; echo cp-rc=$?; /tmp2/bb true; echo exec-rc=$?",
    );
    let (mi, rest) = out.stdout.split_once("---\n").unwrap();
    let mounts = parse_mountinfo(mi);
    let get = |mp: &str| {
        mounts
            .iter()
            .find(|m| m.mount_point == mp)
            .unwrap_or_else(|| panic!("{mp} not mounted{out}"))
    };
    let t = get("/tmp2");
    assert_eq!(t.fstype, "tmpfs", "{t:?}");
    for o in ["nosuid", "noexec", "nodev", "size=4096k", "mode=750"] {
        assert!(t.has_opt(o), "/tmp2 lacks {o}: {t:?}");
    }
    let r = get("/hostro");
    assert!(r.options.iter().any(|o| o == "ro"), "/hostro not ro: {r:?}");
    let w = get("/hostrw");
    assert!(w.options.iter().any(|o| o == "rw"), "/hostrw not rw: {w:?}");

    let lines: Vec<&str> = rest.lines().collect();
    assert_eq!(lines[0], "750", "mode of /tmp2{out}");
    assert_eq!(lines[1], "from-host", "{out}");
    assert!(
        rest.contains("Read-only file system"),
        "touch on ro bind must fail with EROFS{out}"
    );
    assert!(lines.contains(&"rc=1"), "{out}");
    assert!(
        !ro.join("new").exists(),
        "write went through a ro bind mount"
    );
    assert_eq!(
        fs::read_to_string(rw.join("new")).unwrap(),
        "written\n",
        "rw bind mount"
    );
    assert!(
        lines.contains(&"cp-rc=0"),
        "copy into the tmpfs failed{out}"
    );
    assert!(
        !lines.contains(&"exec-rc=0"),
        "noexec tmpfs allowed exec{out}"
    );
}

#[test]
fn masked_paths_are_masked() {
    let h = Hull::new();
    let mut b = Bundle::new();
    // Besides the spec's list (this kernel may lack /proc/kcore), mask a file
    // and a directory that certainly exist and have content.
    let masked = b.config["linux"]["maskedPaths"]
        .as_array_mut()
        .expect("maskedPaths");
    masked.push(json!("/proc/interrupts"));
    masked.push(json!("/sys/firmware"));
    let paths: Vec<String> = masked
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    let out = h.sh(
        &mut b,
        &format!(
            "for p in {}; do if [ -d $p ]; then echo \"$p dir $(ls -A $p | wc -l)\"; \
             elif [ -e $p ]; then echo \"$p file $(cat $p | wc -c) $(stat -c %t:%T $p)\"; \
             else echo \"$p missing\"; fi; done",
            paths.join(" ")
        ),
    );
    let mut checked = 0;
    for p in &paths {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{p} ")))
            .unwrap();
        let host = std::path::Path::new(p);
        if host.is_dir() {
            assert_eq!(line, format!("{p} dir 0"), "masked dir must be empty{out}");
        } else if host.exists() {
            assert_eq!(
                line,
                format!("{p} file 0 1:3"),
                "masked file must be /dev/null{out}"
            );
        } else {
            continue;
        }
        checked += 1;
    }
    assert!(checked >= 2, "{out}");
    if std::path::Path::new("/proc/kcore").exists() {
        assert!(out.stdout.contains("/proc/kcore file 0 1:3"), "{out}");
    }
}

#[test]
fn proc_sys_is_readonly() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out = h.sh(
        &mut b,
        "(echo hacked > /proc/sys/kernel/hostname) 2>&1; echo rc=$?; hostname; \
         grep ' /proc/sys ' /proc/self/mountinfo",
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        out.stdout.contains("Read-only file system"),
        "/proc/sys write must fail with EROFS{out}"
    );
    assert!(!lines.contains(&"rc=0"), "{out}");
    assert!(!lines.contains(&"hacked"), "{out}");
    let m = parse_mountinfo(lines.last().unwrap());
    assert!(
        m.first()
            .is_some_and(|m| m.options.iter().any(|o| o == "ro")),
        "/proc/sys not ro{out}"
    );
}

#[test]
fn readonly_root_gives_erofs() {
    let h = Hull::new();
    let mut b = Bundle::new();
    assert_eq!(b.config["root"]["readonly"], json!(true));
    let out = h.sh(&mut b, "touch /x 2>&1; echo rc=$?");
    assert!(out.stdout.contains("Read-only file system"), "{out}");
    assert!(out.stdout.contains("rc=1"), "{out}");
    assert!(!b.rootfs().join("x").exists());
}

#[test]
fn writable_root_when_not_readonly() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.readonly_root(false);
    h.sh(&mut b, "echo inside > /x");
    assert_eq!(
        fs::read_to_string(b.rootfs().join("x")).unwrap(),
        "inside\n"
    );
}

#[test]
fn user_group_and_additional_groups() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.user(1000, 1000, &[10, 100]);
    let out = h.sh(&mut b, "id -u; id -g; id -G; cat /proc/self/status");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "1000", "{out}");
    assert_eq!(lines[1], "1000", "{out}");
    let mut groups: Vec<&str> = lines[2].split_whitespace().collect();
    groups.sort();
    groups.dedup();
    assert!(groups.contains(&"10") && groups.contains(&"100"), "{out}");
    assert!(
        groups.iter().all(|g| ["10", "100", "1000"].contains(g)),
        "unexpected groups{out}"
    );
    let st = &out.stdout;
    assert_eq!(
        status_field(st, "Uid"),
        Some("1000\t1000\t1000\t1000"),
        "{out}"
    );
    assert_eq!(
        status_field(st, "Gid"),
        Some("1000\t1000\t1000\t1000"),
        "{out}"
    );
    let mut sup: Vec<&str> = status_field(st, "Groups")
        .unwrap()
        .split_whitespace()
        .collect();
    sup.sort();
    assert_eq!(
        sup,
        ["10", "100"],
        "supplementary groups are exactly additionalGids{out}"
    );
}

#[test]
fn user_without_additional_groups_has_none() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.user(1000, 1000, &[]);
    let out = h.sh(&mut b, "cat /proc/self/status");
    assert_eq!(
        status_field(&out.stdout, "Groups"),
        Some(""),
        "host root's groups leaked{out}"
    );
}

#[test]
fn umask_is_applied() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/process/user/umask", json!(0o027));
    b.add_mount(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["mode=1777"]}));
    let out = h.sh(
        &mut b,
        "umask; touch /scratch/f; mkdir /scratch/d; stat -c %a /scratch/f /scratch/d",
    );
    assert_eq!(out.stdout, "0027\n640\n750\n", "{out}");
}

#[test]
fn rlimits_are_applied() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/process/rlimits",
        json!([
            {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 768},
            {"type": "RLIMIT_NPROC", "soft": 3000, "hard": 4000}
        ]),
    );
    let out = h.sh(
        &mut b,
        "ulimit -n; ulimit -Hn; grep -E '^Max (open files|processes)' /proc/self/limits",
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "512", "soft NOFILE{out}");
    assert_eq!(lines[1], "768", "hard NOFILE{out}");
    let words = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let lim = |name: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(name))
            .map(|l| words(l))
            .unwrap_or_else(|| panic!("{name}{out}"))
    };
    let of = lim("Max open files");
    assert_eq!(&of[3..5], ["512", "768"], "{out}");
    let pr = lim("Max processes");
    assert_eq!(&pr[2..4], ["3000", "4000"], "{out}");
}

#[test]
fn env_and_cwd_are_applied() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.env("HULL_TEST_VAR=some value");
    b.set("/process/cwd", json!("/var/tmp"));
    let out = h.sh(
        &mut b,
        "pwd; echo \"$HULL_TEST_VAR\"; echo \"$PATH\"; env | grep -c RUST_BACKTRACE; true",
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "/var/tmp", "{out}");
    assert_eq!(lines[1], "some value", "{out}");
    assert!(lines[2].contains("/bin"), "{out}");
    assert_eq!(
        lines[3], "0",
        "the runtime's environment leaked into the container{out}"
    );
}

#[test]
fn missing_cwd_is_created() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/process/cwd", json!("/does/not/exist/yet"));
    let out = h.sh(&mut b, "pwd");
    assert_eq!(out.out(), "/does/not/exist/yet", "{out}");
}

#[test]
fn default_devices_exist() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out = h.sh(
        &mut b,
        "for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo ok-$d; done; \
         echo x > /dev/null && echo null-w; head -c 8 /dev/urandom | wc -c; \
         echo shm > /dev/shm/f && cat /dev/shm/f; [ -e /dev/ptmx ] && echo ptmx",
    );
    for d in ["null", "zero", "full", "random", "urandom", "tty"] {
        assert!(
            out.stdout.contains(&format!("ok-{d}\n")),
            "/dev/{d} missing{out}"
        );
    }
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines.contains(&"null-w"), "{out}");
    assert!(lines.contains(&"8"), "{out}");
    assert!(lines.contains(&"shm"), "{out}");
    assert!(lines.contains(&"ptmx"), "{out}");
    // Host block devices must not be there.
    let out = h.sh(&mut b, "ls /dev");
    assert!(
        !out.stdout
            .lines()
            .any(|l| l.starts_with("vd") || l.starts_with("sd")),
        "host disks visible{out}"
    );
}

#[test]
fn default_spec_capabilities_and_no_new_privs() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out = h.sh(&mut b, "cat /proc/self/status");
    // CAP_KILL(5) | CAP_NET_BIND_SERVICE(10) | CAP_AUDIT_WRITE(29)
    let caps = "0000000020000420";
    for f in ["CapBnd", "CapEff", "CapPrm"] {
        assert_eq!(status_field(&out.stdout, f), Some(caps), "{f}{out}");
    }
    assert_eq!(status_field(&out.stdout, "NoNewPrivs"), Some("1"), "{out}");
}

#[test]
fn stdout_and_stderr_are_separate() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out = h.sh(&mut b, "echo to-out; echo to-err >&2");
    assert_eq!(out.stdout, "to-out\n", "{out}");
    assert!(out.stderr.contains("to-err"), "{out}");
    assert!(!out.stdout.contains("to-err"), "{out}");
}

/// Options the kernel shows in mountinfo exactly as given in config.json.
fn visible_option(o: &str) -> Option<String> {
    let (k, v) = o.split_once('=').unwrap_or((o, ""));
    match k {
        "ro" | "nosuid" | "nodev" | "noexec" => Some(k.to_string()),
        "size" | "gid" | "uid" => Some(o.to_string()),
        // tmpfs does not show its default mode 1777
        "mode" if v.trim_start_matches('0') == "1777" => None,
        // mode=0620 is shown as mode=620
        "mode" | "ptmxmode" => Some(format!("{k}={}", v.trim_start_matches('0'))),
        _ => None,
    }
}

#[test]
fn every_configured_mount_shows_its_options() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out = h.sh(&mut b, "cat /proc/self/mountinfo");
    let mounts = parse_mountinfo(&out.stdout);
    for m in b.config["mounts"].as_array().unwrap() {
        let dest = m["destination"].as_str().unwrap();
        // The last mount at a mount point is the visible one.
        let mi = mounts
            .iter()
            .rev()
            .find(|x| x.mount_point == dest)
            .unwrap_or_else(|| panic!("{dest} not mounted{out}"));
        for o in m["options"].as_array().into_iter().flatten() {
            if let Some(want) = visible_option(o.as_str().unwrap()) {
                assert!(
                    mi.has_opt(&want),
                    "{dest}: option {want} missing in {mi:?}{out}"
                );
            }
        }
    }
}

#[test]
fn domainname_is_configured_one() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/domainname", json!("hull.example"));
    let out = h.sh(&mut b, "cat /proc/sys/kernel/domainname");
    assert_eq!(out.out(), "hull.example", "{out}");
}

#[test]
fn oom_score_adj_is_applied() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/process/oomScoreAdj", json!(123));
    let out = h.sh(&mut b, "cat /proc/self/oom_score_adj");
    assert_eq!(out.out(), "123", "{out}");
}

#[test]
fn home_is_set_from_passwd_when_not_in_env() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.user(1000, 1000, &[]);
    let out = h.sh(&mut b, "echo $HOME");
    assert_eq!(out.out(), "/home/user", "{out}");
    let mut b = Bundle::new();
    b.env("HOME=/custom");
    let out = h.sh(&mut b, "echo $HOME");
    assert_eq!(out.out(), "/custom", "env wins over /etc/passwd{out}");
}

#[test]
fn sysctls_are_applied_in_the_container() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/linux/sysctl",
        json!({"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"}),
    );
    let host_fwd = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let host_shm = fs::read_to_string("/proc/sys/kernel/shm_rmid_forced").unwrap();
    let out = h.sh(
        &mut b,
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced",
    );
    assert_eq!(out.stdout, "1\n1\n", "{out}");
    assert_eq!(
        fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host_fwd
    );
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/shm_rmid_forced").unwrap(),
        host_shm
    );
}

#[test]
fn dev_symlinks_exist() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out = h.sh(
        &mut b,
        "for l in fd stdin stdout stderr ptmx; do echo $l=$(readlink /dev/$l); done",
    );
    for want in [
        "fd=/proc/self/fd",
        "stdin=/proc/self/fd/0",
        "stdout=/proc/self/fd/1",
        "stderr=/proc/self/fd/2",
        "ptmx=pts/ptmx",
    ] {
        assert!(out.stdout.lines().any(|l| l == want), "{want}{out}");
    }
}

/// runc mounts a read-only tmpfs (and /dev) read-write first and remounts it read-only once
/// /dev is populated: a config with `/dev` read-only still gets /dev/pts and the default
/// devices, and its /dev is read-only in the container.
#[test]
fn read_only_dev_still_gets_pts_and_the_default_devices() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    let dev = mounts
        .iter_mut()
        .find(|m| m["destination"] == "/dev")
        .expect("hull spec mounts /dev");
    dev["options"].as_array_mut().unwrap().push(json!("ro"));
    let out = h.sh(
        &mut b,
        "ls /dev/pts/ptmx && echo x > /dev/null && head -c 3 /dev/zero | wc -c; \
         touch /dev/new 2>&1; grep ' /dev ' /proc/self/mountinfo",
    );
    assert!(out.stdout.contains("/dev/pts/ptmx"), "{out}");
    assert!(out.stdout.contains("\n3\n"), "/dev/zero{out}");
    assert!(out.stdout.contains("Read-only file system"), "{out}");
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(" /dev "))
        .unwrap_or_default();
    let info = parse_mountinfo(line);
    assert!(
        info.first().is_some_and(|m| m.has_opt("ro")),
        "/dev is not read-only: {line:?}{out}"
    );
}
