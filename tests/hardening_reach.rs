//! Issue 12's reach items: what a container can reach of the host through hull itself (its
//! root, its fds, its binary, /dev, the files it reads in the image, the caller's stdio). Each
//! test is set up as an attacker would, says what a vulnerable runtime shows, and checks the
//! host afterwards.

mod common;
use common::*;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::process::{Command, Stdio};
use std::time::Duration;

// --- exec sees exactly the init's root --------------------------------------------------------

#[test]
fn exec_without_mount_namespace_gets_the_inits_root() {
    // Vulnerable: the init is chrooted into the rootfs but `exec` runs at the host's `/`.
    let h = Hull::new();
    let mut b = Bundle::new();
    b.remove_namespace("mount");
    b.set("/mounts", json!([]));
    b.unset("/linux/maskedPaths");
    b.unset("/linux/readonlyPaths");
    fs::write(b.rootfs().join("marker-in-rootfs"), "x").unwrap();
    b.args(&["sleep", "60"]);
    b.write();
    let id = h.id("execroot");
    h.create_start(&b, &id);
    let out = h.run(&["exec", &id, "ls", "/"]);
    let cwd = h.run(&["exec", "--cwd", "/", &id, "pwd"]);
    let _ = h.run(&["delete", "-f", &id]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("marker-in-rootfs"),
        "exec does not see the container's root{out}"
    );
    assert_eq!(cwd.stdout.trim(), "/", "{cwd}");
}

#[test]
fn exec_with_no_pivot_gets_the_inits_root() {
    // --no-pivot moves the rootfs onto / and chroots: exec, joining the mount namespace, must
    // land in the same root, not under it in the old one.
    let h = Hull::new();
    let mut b = Bundle::new();
    fs::write(b.rootfs().join("marker-in-rootfs"), "x").unwrap();
    b.args(&["sleep", "60"]);
    b.write();
    let id = h.id("execnopivot");
    h.ok(&["create", "--no-pivot", "-b", b.path_str(), &id]);
    h.ok(&["start", &id]);
    let out = h.run(&["exec", &id, "ls", "/"]);
    let _ = h.run(&["delete", "-f", &id]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("marker-in-rootfs"), "{out}");
}

// --- no fd of hull's survives execve; args[0] resolved inside the rootfs -------------------

/// `/proc/self/fd/N/../../..(...)/<host path>/echo`, a static busybox copied to a host path that
/// the rootfs does not have: running it means execve resolved args[0] through a host directory
/// that hull left open.
fn args0_through_fd(n: u32) -> String {
    let dir = tmp_base().join("host-only-bin");
    let echo = dir.join("echo");
    if !echo.exists() {
        fs::create_dir_all(&dir).unwrap();
        let tmp = dir.join(format!(".echo-{}", unique("cp")));
        fs::copy("/bin/busybox", &tmp).unwrap();
        fs::rename(&tmp, &echo).unwrap();
    }
    format!("/proc/self/fd/{n}{}{}", "/..".repeat(16), echo.display())
}

#[test]
fn args0_through_a_leaked_fd_no_pivot() {
    // Vulnerable (CVE-2024-21626, attack 3): an O_PATH fd of the host's /proc or of the state
    // dir is still open (close-on-exec only) while execve resolves args[0].
    let h = Hull::new();
    for n in 3..=20 {
        let mut b = Bundle::new();
        b.args(&[&args0_through_fd(n), "ESCAPED"]);
        b.write();
        let id = h.id("fd21626");
        let out = h.run(&["run", "--no-pivot", "-b", b.path_str(), &id]);
        assert!(
            !out.stdout.contains("ESCAPED"),
            "fd {n}: host binary ran{out}"
        );
        assert_ne!(out.code, 0, "fd {n}{out}");
    }
}

#[test]
fn args0_through_a_leaked_fd_pivot() {
    let h = Hull::new();
    for n in 3..=20 {
        let mut b = Bundle::new();
        b.args(&[&args0_through_fd(n), "ESCAPED"]);
        let out = h.run_bundle(&b);
        assert!(
            !out.stdout.contains("ESCAPED"),
            "fd {n}: host binary ran{out}"
        );
        assert_ne!(out.code, 0, "fd {n}{out}");
    }
}

#[test]
fn args0_through_a_leaked_fd_without_mount_namespace() {
    // Without a mount namespace hull mounts nothing; an image used that way brings its /proc
    // (here a procfs mounted on the host before the run).
    let h = Hull::new();
    for n in 3..=20 {
        let mut b = Bundle::new();
        b.remove_namespace("mount");
        b.set("/mounts", json!([]));
        b.unset("/linux/maskedPaths");
        b.unset("/linux/readonlyPaths");
        b.args(&[&args0_through_fd(n), "ESCAPED"]);
        let proc_dir = b.rootfs().join("proc");
        let m = host("mount", &["-t", "proc", "proc", proc_dir.to_str().unwrap()]);
        assert_eq!(m.code, 0, "{m}");
        let out = h.run_bundle(&b);
        let _ = host("umount", &["-l", proc_dir.to_str().unwrap()]);
        assert!(
            !out.stdout.contains("ESCAPED"),
            "fd {n}: host binary ran{out}"
        );
        assert_ne!(out.code, 0, "fd {n}{out}");
    }
}

#[test]
fn interpreter_through_a_leaked_fd_even_when_seccomp_refuses_close_range() {
    // A script of the image names its interpreter through /proc/self/fd/N: args[0] itself is
    // inside the root, and the kernel resolves the `#!` line during execve, so only closing
    // hull's fds (not marking them close-on-exec) stops it. A filter that refuses close_range
    // makes hull close them one by one. Refusing execveat too keeps the exec trampoline out
    // (it would drop every close-on-exec fd at its own exec, before the script's).
    let h = Hull::new();
    let refuse = |names: &[&str]| {
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": names, "action": "SCMP_ACT_ERRNO"}]})
    };
    let no_tramp = refuse(&["execveat"]);
    let no_close = refuse(&["execveat", "close_range"]);
    for (filter, nnp) in [
        (None, true),
        (Some(&no_tramp), true),
        (Some(&no_close), true),
        (Some(&no_close), false),
    ] {
        for n in 3..=20 {
            let mut b = Bundle::new();
            let script = b.rootfs().join("bin/esc");
            fs::write(&script, format!("#!{} ESCAPED\n", args0_through_fd(n))).unwrap();
            fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
            b.args(&["/bin/esc"]);
            b.set("/process/noNewPrivileges", json!(nnp));
            if let Some(f) = filter {
                b.set("/linux/seccomp", f.clone());
            }
            b.write();
            let id = h.id("fdshebang");
            let out = h.run(&["run", "--no-pivot", "-b", b.path_str(), &id]);
            let what = format!("fd {n}, seccomp {}, nnp {nnp}", filter.is_some());
            assert!(
                !out.stdout.contains("ESCAPED"),
                "{what}: host binary ran{out}"
            );
            assert_ne!(out.code, 0, "{what}{out}");
        }
    }
}

#[test]
fn exec_args0_through_a_leaked_fd() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "60"]);
    b.write();
    let id = h.id("fdexec");
    h.create_start(&b, &id);
    let mut fails = Vec::new();
    for n in 3..=20 {
        let out = h.run(&["exec", &id, &args0_through_fd(n), "ESCAPED"]);
        if out.stdout.contains("ESCAPED") || out.code == 0 {
            fails.push(format!("fd {n}{out}"));
        }
    }
    let _ = h.run(&["delete", "-f", &id]);
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

#[test]
fn only_stdio_reaches_the_container_process() {
    // Every fd of hull's is closed at execve, not only marked: the process sees 0, 1, 2 and
    // nothing else (and an fd it would inherit through a failed close-on-exec is absent too).
    let h = Hull::new();
    for no_pivot in [false, true] {
        let mut b = Bundle::new();
        b.sh("ls /proc/self/fd | sort -n | tr '\\n' ' '");
        b.write();
        let id = h.id("fds");
        let mut args = vec!["run"];
        if no_pivot {
            args.push("--no-pivot");
        }
        args.extend(["-b", b.path_str(), &id]);
        let out = h.run(&args);
        assert_eq!(out.code, 0, "{out}");
        // ls itself opens one fd for the directory it reads.
        assert_eq!(out.stdout.trim(), "0 1 2 3", "{out}");
    }
}

// --- CVE-2019-5736: the host's hull binary --------------------------------------------------

fn hull_copy(h: &Hull) -> (std::path::PathBuf, Vec<u8>) {
    let copy = h.dir.join("hull-copy");
    fs::copy(hull_bin(), &copy).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
    let before = fs::read(&copy).unwrap();
    (copy, before)
}

#[test]
fn cve_2019_5736_no_writable_handle_on_the_runtime_binary() {
    // Vulnerable: a container process that can see a hull process (here: no pid namespace and
    // CAP_SYS_PTRACE) holds /proc/<hull>/exe open while hull runs, and reopens it for writing
    // through /proc/self/fd once hull has exited and the binary is no longer busy.
    let h = Hull::new();
    let (copy, before) = hull_copy(&h);
    let mut b = Bundle::new();
    b.remove_namespace("pid");
    b.readonly_root(false);
    for set in ["bounding", "effective", "permitted"] {
        let p = format!("/process/capabilities/{set}");
        let mut caps = b.config.pointer(&p).cloned().unwrap_or(json!([]));
        caps.as_array_mut().unwrap().push(json!("CAP_SYS_PTRACE"));
        b.set(&p, caps);
    }
    b.args(&["sleep", "60"]);
    b.write();
    let id = h.id("5736rw");
    let root = h.root_str();
    let io = h.dir.join("io");
    let out = spawn_cmd(
        &copy,
        &["--root", root, "run", "-d", "-b", b.path_str(), &id],
        &io,
    )
    .wait();
    assert_eq!(out.code, 0, "{out}");
    // The exec'd shell's parent is the `hull exec` process; a background child keeps its exe.
    let script = "P=$PPID; ( echo NOOPEN > /result; exec 3</proc/$P/exe; : > /opened; \
                  while [ -d /proc/$P ]; do sleep 0.05; done; \
                  if { echo pwned 1<>/proc/self/fd/3; } 2>/err; then echo WROTE; else echo REFUSED; fi > /result \
                  ) </dev/null >/dev/null 2>&1 & \
                  i=0; while [ ! -e /opened ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done";
    let out = spawn_cmd(
        &copy,
        &["--root", root, "exec", &id, "sh", "-c", script],
        &io,
    )
    .wait();
    assert_eq!(out.code, 0, "{out}");
    let result = b.rootfs().join("result");
    let got = wait_until(Duration::from_secs(10), || {
        fs::read_to_string(&result).is_ok_and(|s| s.ends_with('\n') && s != "NOOPEN\n")
    });
    let _ = h.run(&["delete", "-f", &id]);
    assert!(got, "the container's probe never finished");
    let result = fs::read_to_string(&result).unwrap();
    let err = fs::read_to_string(b.rootfs().join("err")).unwrap_or_default();
    assert_eq!(result.trim(), "REFUSED", "stderr: {err}");
    assert!(
        err.contains("Read-only file system") || err.contains("Text file busy"),
        "{err}"
    );
    assert!(
        fs::read(&copy).unwrap() == before,
        "the runtime binary changed"
    );
}

#[test]
fn cve_2019_5736_hull_runs_from_a_read_only_view() {
    // A hull process that enters a container whose processes may see it (here: no pid
    // namespace) runs its binary from a read-only mount, so a handle reached through
    // /proc/<pid>/exe cannot be reopened for writing. (With a new pid namespace, nothing in
    // the container sees it and it does not: cve_2019_5736_read_only_view_where_...)
    let h = Hull::new();
    let (copy, before) = hull_copy(&h);
    let mut b = Bundle::new();
    b.remove_namespace("pid");
    b.args(&["sleep", "3"]);
    b.write();
    let id = h.id("5736ro");
    let io = h.dir.join("io");
    let run = spawn_cmd(
        &copy,
        &["--root", h.root_str(), "run", "-b", b.path_str(), &id],
        &io,
    );
    let exe = format!("/proc/{}/exe", run.pid());
    assert!(wait_until(Duration::from_secs(5), || h
        .status(&id)
        .as_deref()
        == Some("running")));
    let held = fs::File::open(&exe).expect("open /proc/<run>/exe read-only");
    let out = run.wait();
    assert_eq!(out.code, 0, "{out}");
    let again = fs::OpenOptions::new().write(true).open(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&held)
    ));
    let err = again.expect_err("reopened the runtime binary for writing");
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    assert!(
        fs::read(&copy).unwrap() == before,
        "the runtime binary changed"
    );
}

/// The pipe the trampoline blocks on (see below): 4 KiB, full.
fn full_pipe() -> (std::io::PipeReader, std::io::PipeWriter) {
    use nix::fcntl::{FcntlArg, fcntl};
    let (r, w) = std::io::pipe().unwrap();
    fcntl(&w, FcntlArg::F_SETPIPE_SZ(4096)).unwrap();
    (r, w)
}

#[test]
fn cve_2019_5736_swapped_shebang_reaches_only_the_sealed_trampoline() {
    // Vulnerable: the entrypoint passes hull's check at create and becomes `#!/proc/self/exe`
    // before start. Executed from hull's image, /proc/self/exe is then hull's binary, which
    // runs as the container's process for another container process to grab and overwrite.
    // With the trampoline it is the sealed memfd: the trampoline runs again, refuses (its argv
    // is not hull's) and says so on stderr, which is a full pipe here, so that it blocks there
    // while the container looks at it.
    let h = Hull::new();
    let (copy, before) = hull_copy(&h);
    let mut b = Bundle::new();
    let evil = b.rootfs().join("evil");
    fs::write(&evil, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(&evil, fs::Permissions::from_mode(0o755)).unwrap();
    b.args(&["/evil"]);
    b.write();
    let id = h.id("5736swap");
    let root = h.root_str();
    let (mut reader, mut writer) = full_pipe();
    let create = Command::new(&copy)
        .args(["--root", root, "create", "-b", b.path_str(), &id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(writer.try_clone().unwrap())
        .status()
        .unwrap();
    assert!(create.success(), "create failed");
    writer.write_all(&[b'.'; 4096]).unwrap();
    fs::write(&evil, "#!/proc/self/exe\n").unwrap();
    let io = h.dir.join("io");
    let start = spawn_cmd(&copy, &["--root", root, "start", &id], &io).wait();
    assert_eq!(start.code, 0, "{start}");
    let probe = "readlink /proc/1/exe; \
                 if { echo pwned 1<>/proc/1/exe; } 2>&1; then echo WROTE; else echo REFUSED; fi";
    let out = spawn_cmd(
        &copy,
        &["--root", root, "exec", &id, "sh", "-c", probe],
        &io,
    )
    .wait();
    // Let the trampoline finish: its message follows the 4096 dots.
    let mut said = vec![0u8; 4096 + 200];
    let mut n = 0;
    while n < 4096 + 10 {
        match std::io::Read::read(&mut reader, &mut said[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    drop(writer);
    let _ = h.run(&["delete", "-f", &id]);
    assert_eq!(out.code, 0, "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.starts_with("/memfd:hull-exec")),
        "the container's process is not the sealed trampoline{out}"
    );
    // ETXTBSY while it runs; the seals refuse any write after.
    assert_eq!(lines.last(), Some(&"REFUSED"), "{out}");
    let said = String::from_utf8_lossy(&said[4096..n]);
    assert!(said.contains("hull-exec:"), "{said:?}");
    assert!(
        fs::read(&copy).unwrap() == before,
        "the runtime binary changed"
    );
}

/// Whether the process `pid` executes from a read-only mount (hull's read-only view).
fn runs_read_only(pid: u32) -> bool {
    use nix::sys::statvfs::{FsFlags, statvfs};
    let vfs = statvfs(format!("/proc/{pid}/exe").as_str()).expect("statvfs of /proc/<pid>/exe");
    vfs.flags().contains(FsFlags::ST_RDONLY)
}

/// Runs `b` (a few seconds of sleep) with `hull run` in the foreground; whether that hull
/// process ran from the read-only view of its binary.
fn run_view(h: &Hull, b: &mut Bundle) -> bool {
    b.args(&["sleep", "2"]);
    b.write();
    let id = h.id("view");
    let run = h.spawn(&["run", "-b", b.path_str(), &id]);
    // The view is settled before the state dir exists.
    let up = wait_until(WAIT_TIMEOUT, || h.status(&id).as_deref() == Some("running"));
    let ro = runs_read_only(run.pid());
    let out = run.wait();
    assert!(up, "never running{out}");
    assert_eq!(out.code, 0, "{out}");
    ro
}

#[test]
fn cve_2019_5736_read_only_view_where_a_container_may_reach_hull() {
    // The trampoline keeps the container's program from reaching hull's binary; hull itself
    // still runs from the read-only view where a container process may open /proc/<hull>/exe
    // (CAP_SYS_PTRACE, or a pid namespace hull's processes are seen in) or where the
    // trampoline cannot run. Anywhere else it does not: the view costs ~1 ms.
    let h = Hull::new();
    let mut b = Bundle::new();
    assert!(!run_view(&h, &mut b), "the default config re-executed");

    let mut b = Bundle::new();
    b.remove_namespace("pid");
    assert!(run_view(&h, &mut b), "no pid namespace");

    let mut other = Bundle::new();
    other.args(&["sleep", "60"]);
    other.write();
    let other_id = h.id("pidns");
    h.create_start(&other, &other_id);
    let mut b = Bundle::new();
    b.remove_namespace("pid");
    let path = format!("/proc/{}/ns/pid", h.pid(&other_id));
    b.add_namespace("pid", Some(&path));
    let joined = run_view(&h, &mut b);
    let _ = h.run(&["delete", "-f", &other_id]);
    assert!(joined, "a joined pid namespace");

    let mut b = Bundle::new();
    let caps = b.config["process"]["capabilities"]["bounding"].clone();
    let mut caps = caps.as_array().cloned().unwrap_or_default();
    caps.push(json!("CAP_SYS_PTRACE"));
    b.set("/process/capabilities/bounding", json!(caps));
    assert!(
        run_view(&h, &mut b),
        "CAP_SYS_PTRACE without a user namespace"
    );

    let mut b = Bundle::new();
    b.set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ERRNO"}]}),
    );
    assert!(run_view(&h, &mut b), "seccomp refuses execveat");

    // Ignored with a warning on a host without SELinux, but the view does not look at that.
    let mut b = Bundle::new();
    b.set(
        "/process/selinuxLabel",
        json!("system_u:system_r:container_t:s0"),
    );
    assert!(run_view(&h, &mut b), "an SELinux exec label");
}

#[test]
fn cve_2019_5736_exec_read_only_view_where_a_container_may_reach_hull() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.readonly_root(false);
    b.args(&["sleep", "60"]);
    b.write();
    let id = h.id("execview");
    h.create_start(&b, &id);
    let mut n = 0;
    let mut view = |flags: &[&str]| {
        n += 1;
        let mark = format!("/started{n}");
        let script = format!("touch {mark}; sleep 2");
        let mut args = vec!["exec"];
        args.extend_from_slice(flags);
        args.extend([id.as_str(), "sh", "-c", &script]);
        let exec = h.spawn(&args);
        let up = wait_until(WAIT_TIMEOUT, || b.rootfs().join(&mark[1..]).exists());
        let ro = runs_read_only(exec.pid());
        let out = exec.wait();
        assert!(up, "never started{out}");
        assert_eq!(out.code, 0, "{out}");
        ro
    };
    let plain = view(&[]);
    let ptrace = view(&["--cap", "CAP_SYS_PTRACE"]);
    // That process may still run, and see later execs' processes.
    let after = view(&[]);
    let _ = h.run(&["delete", "-f", &id]);
    assert!(!plain, "a plain exec re-executed");
    assert!(ptrace, "an exec with CAP_SYS_PTRACE");
    assert!(after, "an exec after one with CAP_SYS_PTRACE");
}

#[test]
fn exec_errors_read_the_same_through_the_trampoline() {
    // The trampoline reports a failed execve; `start` and `exec` say what hull always said.
    let h = Hull::new();
    let mut b = Bundle::new();
    let junk = b.rootfs().join("junk");
    fs::write(&junk, "neither ELF nor #!\n").unwrap();
    fs::set_permissions(&junk, fs::Permissions::from_mode(0o755)).unwrap();
    let want = r#"process.args[0]: exec "/junk": ENOEXEC: Exec format error"#;
    b.args(&["/junk"]);
    b.write();
    let id = h.id("enoexec");
    h.ok(&["create", "-b", b.path_str(), &id]);
    let out = h.run(&["start", &id]);
    assert_eq!(out.code, 1, "{out}");
    assert_eq!(out.stderr.trim(), format!("hull: {want}"), "{out}");
    let _ = h.run(&["delete", "-f", &id]);

    b.args(&["sleep", "60"]);
    b.write();
    let id = h.id("enoexec");
    h.create_start(&b, &id);
    let out = h.run(&["exec", &id, "/junk"]);
    let _ = h.run(&["delete", "-f", &id]);
    // runc's status for an exec that fails itself.
    assert_eq!(out.code, 255, "{out}");
    assert_eq!(out.stderr.trim(), format!("hull: {want}"), "{out}");
}

#[test]
fn only_stdio_reaches_a_started_or_exec_d_process() {
    // The trampoline closes the fifo and sync socket it was handed: a created-then-started
    // init and an exec'd process see 0, 1, 2 (and, with --preserve-fds, what was preserved).
    let h = Hull::new();
    let mut b = Bundle::new();
    b.readonly_root(false);
    b.sh("ls /proc/self/fd | sort -n | tr '\\n' ' ' > /init-fds; sleep 60");
    b.write();
    let id = h.id("fds");
    h.create_start(&b, &id);
    let fds = b.rootfs().join("init-fds");
    assert!(wait_until(WAIT_TIMEOUT, || fs::read_to_string(&fds)
        .is_ok_and(|s| !s.is_empty())));
    // ls itself opens one fd for the directory it reads.
    assert_eq!(fs::read_to_string(&fds).unwrap().trim(), "0 1 2 3");
    let out = h.run(&[
        "exec",
        &id,
        "sh",
        "-c",
        "ls /proc/self/fd | sort -n | tr '\\n' ' '",
    ]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout.trim(), "0 1 2 3", "{out}");
    let script = format!(
        "exec 3</dev/null; exec {} --root {} exec --preserve-fds 1 {id} sh -c \"ls /proc/self/fd | sort -n | tr '\\n' ' '\"",
        hull_bin().display(),
        h.root_str()
    );
    let out = host("sh", &["-c", &script]);
    let _ = h.run(&["delete", "-f", &id]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout.trim(), "0 1 2 3 4", "{out}");
}

// --- /dev nodes in a hostile image ----------------------------------------------------------

/// A bundle whose /dev is the image's own directory (bound over hull's tmpfs), keeping devpts.
fn bundle_with_image_dev(b: &mut Bundle) -> std::path::PathBuf {
    let dev = b.dir.join("imagedev");
    for d in ["pts", "shm", "mqueue"] {
        fs::create_dir_all(dev.join(d)).unwrap();
    }
    let mounts: Vec<serde_json::Value> = b.config["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            if m["destination"] == "/dev" {
                json!({"destination": "/dev", "type": "bind", "source": dev.to_str().unwrap(),
                       "options": ["rbind", "rw"]})
            } else {
                m.clone()
            }
        })
        .collect();
    b.set("/mounts", json!(mounts));
    dev
}

#[test]
fn dev_console_symlink_is_not_followed() {
    // Vulnerable: the pty is bind-mounted onto wherever the image's /dev/console points (here a
    // file of the image; /proc/sys/... in a real attack).
    let h = Hull::new();
    let mut b = Bundle::new();
    let dev = bundle_with_image_dev(&mut b);
    b.readonly_root(false);
    fs::write(b.rootfs().join("victim"), "victim\n").unwrap();
    symlink("/victim", dev.join("console")).unwrap();
    b.terminal(true);
    b.sh("grep ' /victim ' /proc/self/mountinfo > /res; cat /victim >> /res; echo done >> /res");
    b.write();
    let id = h.id("console");
    let (out, _master) = h.run_on_console(&b, &id);
    let res = b.rootfs().join("res");
    if out.code == 0 {
        wait_until(Duration::from_secs(10), || {
            fs::read_to_string(&res).is_ok_and(|s| s.contains("done"))
        });
    }
    let _ = h.run(&["delete", "-f", &id]);
    if out.code != 0 {
        // Refused: fine, if said in one line naming /dev/console.
        assert_one_line_error(&out, "/dev/console");
        return;
    }
    let res = fs::read_to_string(&res).unwrap_or_default();
    assert_eq!(
        res, "victim\ndone\n",
        "the pty was mounted over /victim{out}"
    );
}

#[test]
fn dev_pts_symlink_is_not_mounted_over() {
    // Vulnerable: devpts is mounted wherever the image's /dev/pts points (here a directory of
    // the image; anything under /proc or /sys in a real attack).
    let h = Hull::new();
    let mut b = Bundle::new();
    let dev = bundle_with_image_dev(&mut b);
    fs::remove_dir(dev.join("pts")).unwrap();
    fs::create_dir(b.rootfs().join("victimdir")).unwrap();
    symlink("/victimdir", dev.join("pts")).unwrap();
    b.sh("grep -c ' /victimdir ' /proc/self/mountinfo; true");
    let out = h.run_bundle(&b);
    if out.code != 0 {
        assert_one_line_error(&out, "/dev/pts");
        return;
    }
    assert!(
        out.stdout.starts_with('0'),
        "devpts mounted over /victimdir{out}"
    );
}

#[test]
fn default_device_symlink_is_not_followed_in_a_user_namespace() {
    // Vulnerable: in a user namespace the host's /dev/null is bound onto wherever the image's
    // /dev/null points.
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/mounts",
        json!([
            {"destination": "/proc", "type": "proc", "source": "proc"},
        ]),
    );
    b.unset("/linux/maskedPaths");
    b.unset("/linux/readonlyPaths");
    b.userns(0, 65536);
    fs::write(b.rootfs().join("victim"), "victim\n").unwrap();
    symlink("/victim", b.rootfs().join("dev/null")).unwrap();
    b.sh("grep -c ' /victim ' /proc/self/mountinfo; cat /victim");
    let out = h.run_bundle(&b);
    if out.code != 0 {
        assert_one_line_error(&out, "/dev/null");
        return;
    }
    assert!(out.stdout.starts_with("0\nvictim"), "{out}");
}

// --- hostile files the runtime reads ----------------------------------------------------------

#[test]
fn etc_passwd_fifo_does_not_hang() {
    // Vulnerable: the HOME lookup opens the image's /etc/passwd, a FIFO, and blocks forever.
    let h = Hull::new();
    let mut b = Bundle::new();
    let passwd = b.rootfs().join("etc/passwd");
    fs::remove_file(&passwd).unwrap();
    let mk = host("mkfifo", &[passwd.to_str().unwrap()]);
    assert_eq!(mk.code, 0, "{mk}");
    b.args(&["true"]);
    b.write();
    let id = h.id("fifo");
    let out = h
        .spawn(&["run", "-b", b.path_str(), &id])
        .wait_timeout(Duration::from_secs(20));
    let _ = h.run(&["delete", "-f", &id]);
    if out.code != 0 {
        assert_one_line_error(&out, "/etc/passwd");
    }
}

#[test]
fn etc_passwd_dev_zero_is_bounded() {
    // Vulnerable: /etc/passwd -> /dev/zero is read to the end: memory without bound. The init's
    // RLIMIT_AS (2 GiB) keeps a vulnerable build from taking the host's memory; its peak RSS,
    // which wait4 reports for hull and the children it reaped, tells.
    let h = Hull::new();
    let mut b = Bundle::new();
    let passwd = b.rootfs().join("etc/passwd");
    fs::remove_file(&passwd).unwrap();
    symlink("/dev/zero", &passwd).unwrap();
    b.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_AS", "hard": 2u64 << 30, "soft": 2u64 << 30}]),
    );
    b.args(&["true"]);
    b.write();
    let id = h.id("zero");
    let err_path = h.dir.join("zero.err");
    // The peak RSS of hull and the children it reaped, as GNU time (a small process) measures
    // it: taken from this test process, a spawned child's maximum would start from this
    // (large, multi-threaded) process's own high-water mark, which the kernel carries over
    // the vfork and exec.
    let out = Command::new("/usr/bin/time")
        .args(["-f", "maxrss-kib %M", hull_bin().to_str().unwrap()])
        .args(["--root", h.root_str(), "run", "-b", b.path_str(), &id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&err_path).unwrap())
        .status()
        .unwrap();
    let all = fs::read_to_string(&err_path).unwrap();
    let (stderr, kib) = all
        .trim_end()
        .rsplit_once('\n')
        .map_or(("", all.trim_end()), |(e, k)| (e, k));
    let kib: u64 = kib
        .strip_prefix("maxrss-kib ")
        .and_then(|k| k.parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS from time: {all}"));
    // time's own line about a non-zero exit is not hull's.
    let stderr: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("Command exited") && !l.starts_with("Command terminated"))
        .collect();
    if out.code() != Some(0) {
        assert!(
            stderr.len() == 1 && stderr[0].contains("/etc/passwd"),
            "{stderr:?}"
        );
    }
    let peak_mib = kib / 1024;
    assert!(
        peak_mib < 256,
        "peak RSS {peak_mib} MiB reading /etc/passwd -> /dev/zero"
    );
}

#[test]
fn linux_devices_path_with_dotdot_is_refused() {
    // Vulnerable: "/dev/../etc/passwd" passes an "under /dev" prefix check and a device node
    // replaces the image's /etc/passwd.
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/linux/devices",
        json!([{"path": "/dev/../etc/passwd", "type": "c", "major": 1, "minor": 3}]),
    );
    b.args(&["true"]);
    b.write();
    let id = h.id("devdotdot");
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    assert_ne!(out.code, 0, "{out}");
    assert_one_line_error(&out, "linux.devices[0].path");
    assert_no_residue(&h, &b, &id);
    assert!(b.rootfs().join("etc/passwd").is_file());
}

// --- foreground run without a terminal --------------------------------------------------------

#[test]
fn foreground_run_gives_the_container_pipes() {
    // Vulnerable: the container's stdout is the caller's file; `echo x > /dev/stdout` reopens
    // it through /proc/self/fd/1 with O_TRUNC and wipes what was written before.
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("echo x > /dev/stdout; echo y > /dev/stderr; ls -l /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2");
    b.write();
    let id = h.id("pipes");
    let out_path = h.dir.join("caller-stdout");
    let err_path = h.dir.join("caller-stderr");
    let mut out_file = fs::File::create(&out_path).unwrap();
    out_file.write_all(b"prior\n").unwrap();
    let mut err_file = fs::File::create(&err_path).unwrap();
    err_file.write_all(b"prior-err\n").unwrap();
    let in_path = h.dir.join("caller-stdin");
    fs::write(&in_path, "secret\n").unwrap();
    let status = Command::new(hull_bin())
        .args(["--root", h.root_str(), "run", "-b", b.path_str(), &id])
        .stdin(fs::File::open(&in_path).unwrap())
        .stdout(Stdio::from(out_file))
        .stderr(Stdio::from(err_file))
        .status()
        .unwrap();
    let stdout = fs::read_to_string(&out_path).unwrap();
    let stderr = fs::read_to_string(&err_path).unwrap();
    assert!(status.success(), "{status}: {stdout} {stderr}");
    assert!(stdout.starts_with("prior\nx\n"), "{stdout}");
    assert_eq!(stderr, "prior-err\ny\n");
    for fd in 0..3 {
        let l = stdout
            .lines()
            .find(|l| l.contains(&format!("/fd/{fd} -> ")))
            .unwrap_or_else(|| panic!("no fd {fd}: {stdout}"));
        assert!(
            l.contains("-> pipe:"),
            "a caller's file reached the container: {l}"
        );
    }
}

#[test]
fn foreground_run_relays_stdin_and_output() {
    // The relay (caller's stdio on regular files) carries stdin in and megabytes out, in
    // order, with the exit code.
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("head -c 200000 | md5sum; head -c 3000000 /dev/zero | tr '\\0' a; echo; echo err >&2; exit 7");
    b.write();
    let id = h.id("relay");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let in_path = h.dir.join("relay-in");
    fs::write(&in_path, &data).unwrap();
    let want = host("md5sum", &[in_path.to_str().unwrap()]).stdout;
    let out_path = h.dir.join("relay-out");
    let err_path = h.dir.join("relay-err");
    let status = Command::new(hull_bin())
        .args(["--root", h.root_str(), "run", "-b", b.path_str(), &id])
        .stdin(fs::File::open(&in_path).unwrap())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap())
        .status()
        .unwrap();
    let out = fs::read_to_string(&out_path).unwrap();
    assert_eq!(
        status.code(),
        Some(7),
        "{}",
        fs::read_to_string(&err_path).unwrap()
    );
    let mut lines = out.lines();
    assert_eq!(
        lines.next().and_then(|l| l.split_whitespace().next()),
        want.split_whitespace().next()
    );
    let a = lines.next().unwrap_or_default();
    assert!(
        a.len() == 3_000_000 && a.bytes().all(|c| c == b'a'),
        "{} bytes",
        a.len()
    );
    assert_eq!(fs::read_to_string(&err_path).unwrap(), "err\n");
}

#[test]
fn foreground_exec_gives_the_process_pipes() {
    // As for run: `hull exec` in the foreground without a terminal must not hand the caller's
    // own output file to the process.
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "60"]);
    b.write();
    let id = h.id("execpipes");
    h.create_start(&b, &id);
    let out_path = h.dir.join("exec-stdout");
    let mut out_file = fs::File::create(&out_path).unwrap();
    out_file.write_all(b"prior\n").unwrap();
    let status = Command::new(hull_bin())
        .args(["--root", h.root_str(), "exec", &id, "sh", "-c"])
        .arg("echo x > /dev/stdout; ls -l /proc/self/fd/1")
        .stdin(Stdio::null())
        .stdout(Stdio::from(out_file))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let _ = h.run(&["delete", "-f", &id]);
    let stdout = fs::read_to_string(&out_path).unwrap();
    assert!(status.success(), "{status}: {stdout}");
    assert!(stdout.starts_with("prior\nx\n"), "{stdout}");
    assert!(stdout.contains("/fd/1 -> pipe:"), "{stdout}");
}
