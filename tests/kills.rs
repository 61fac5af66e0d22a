//! SIGKILL at random points (issue 13): create, start, exec and delete are each killed 200 times
//! after a random delay within their usual run time. No command may hang afterwards, and
//! `delete -f` must always leave nothing: no state dir, cgroup, mount or process.
//!
//! KILL_RUNS=N changes the number of runs per command (e.g. for a longer local run).

mod common;
use common::*;
use std::time::{Duration, Instant};

const NO_HANG: Duration = Duration::from_secs(30);

fn runs() -> u32 {
    std::env::var("KILL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// xorshift64*: enough to spread the kill points, and the seed is printed so that a failure can
/// be replayed (KILL_SEED).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("KILL_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("KILL_SEED={seed}");
        Rng(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// How long the command takes at best (the fastest of 5), i.e. the window to kill it in: a
/// longer one would spend runs on commands that had already finished.
fn window(mut run: impl FnMut() -> Duration) -> Duration {
    (0..5).map(|_| run()).min().unwrap()
}

/// Runs `setup` (preparing the ID), then spawns the command to kill and SIGKILLs it after a
/// random delay within `window`; then `delete -f` must succeed and leave nothing.
fn kill_loop(
    op: &str,
    mut setup: impl FnMut(&Hull, &Bundle, &str),
    cmd: impl Fn(&Bundle, &str) -> Vec<String>,
) {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let mut timed = |h: &Hull| {
        let id = h.id(op);
        setup(h, &b, &id);
        let args = cmd(&b, &id);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let t = Instant::now();
        let out = h.spawn(&args).wait_timeout(NO_HANG);
        let took = t.elapsed();
        assert_eq!(out.code, 0, "{out}");
        h.ok(&["delete", "-f", &id]);
        took
    };
    let win = window(|| timed(&h));
    eprintln!("{op}: killing within {win:?}");
    let mut rng = Rng::new();
    let (mut killed, mut finished) = (0, 0);
    let started = Instant::now();
    for run in 0..runs() {
        let id = h.id(op);
        setup(&h, &b, &id);
        let args = cmd(&b, &id);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let sp = h.spawn(&args);
        let delay = Duration::from_micros(rng.below(win.as_micros() as u64));
        std::thread::sleep(delay);
        kill_pid(sp.pid() as i32, 9);
        let out = sp.wait_timeout(NO_HANG);
        if out.code == -9 {
            killed += 1;
        } else {
            finished += 1;
        }
        // The ID answers at once, whatever state the kill left it in.
        let _ = h.spawn(&["state", &id]).wait_timeout(NO_HANG);
        let t = Instant::now();
        let out = h.spawn(&["delete", "-f", &id]).wait_timeout(NO_HANG);
        let td = t.elapsed();
        assert_eq!(
            out.code, 0,
            "run {run}: {op} killed after {delay:?}; delete -f failed{out}"
        );
        let t = Instant::now();
        assert_no_residue(&h, &b, &id);
        if std::env::var_os("KILL_DEBUG").is_some() {
            eprintln!(
                "{op} run {run}: code {} delete {td:?} residue {:?}",
                out.code,
                t.elapsed()
            );
        }
    }
    eprintln!(
        "{op}: {killed} killed, {finished} finished before the kill, in {:?}",
        started.elapsed()
    );
    assert!(killed > 0, "{op} was never killed: the window is too short");
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn create_killed_at_random_points() {
    kill_loop(
        "kcreate",
        |_, _, _| {},
        |b, id| owned(&["create", "-b", b.path_str(), id]),
    );
}

#[test]
fn start_killed_at_random_points() {
    kill_loop(
        "kstart",
        |h, b, id| {
            h.ok(&["create", "-b", b.path_str(), id]);
        },
        |_, id| owned(&["start", id]),
    );
}

#[test]
fn exec_killed_at_random_points() {
    kill_loop(
        "kexec",
        |h, b, id| h.create_start(b, id),
        |_, id| owned(&["exec", id, "true"]),
    );
}

#[test]
fn delete_killed_at_random_points() {
    kill_loop(
        "kdelete",
        |h, b, id| h.create_start(b, id),
        |_, id| owned(&["delete", "-f", id]),
    );
}
