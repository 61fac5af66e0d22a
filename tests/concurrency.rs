//! Concurrency (issue 13): 50 lifecycles in parallel on distinct IDs, and 20 operations racing
//! on one ID, 20 rounds each. No command may hang or panic, no state may be left corrupt or
//! half-made, and `delete -f` must leave nothing.

mod common;
use common::*;
use std::sync::Barrier;
use std::time::Duration;

const ROUNDS: usize = 20;
const NO_HANG: Duration = Duration::from_secs(60);

fn no_panic(out: &Out) {
    for bad in ["panicked", "internal error", "RUST_BACKTRACE"] {
        assert!(!out.stderr.contains(bad), "{out}");
    }
}

#[test]
fn fifty_parallel_lifecycles_twenty_times() {
    const N: usize = 50;
    let h = Hull::new();
    let b = Bundle::sleeping();
    for round in 0..ROUNDS {
        let ids: Vec<String> = (0..N).map(|_| h.id("par")).collect();
        let barrier = Barrier::new(N);
        std::thread::scope(|s| {
            for id in &ids {
                let (h, b, barrier) = (&h, &b, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let run = |args: &[&str]| {
                        let out = h.spawn(args).wait_timeout(NO_HANG);
                        no_panic(&out);
                        assert_eq!(out.code, 0, "round {round}{out}");
                        out
                    };
                    run(&["create", "-b", b.path_str(), id]);
                    run(&["start", id]);
                    let st: Value = serde_json::from_str(&run(&["state", id]).stdout).unwrap();
                    assert_eq!(st["status"], "running", "round {round}: {st}");
                    run(&["delete", "-f", id]);
                });
            }
        });
        for id in &ids {
            assert_no_residue(&h, &b, id);
        }
    }
}

/// One of the operations an engine (or several) may send for an ID at the same time.
fn op(i: usize, b: &Bundle, id: &str) -> Vec<String> {
    let v: &[&str] = match i % 10 {
        0 | 1 => &["create", "-b", b.path_str(), id],
        2 => &["start", id],
        3 => &["state", id],
        4 => &["kill", id, "KILL"],
        5 => &["delete", id],
        6 => &["delete", "-f", id],
        7 => &["exec", "-d", id, "true"],
        8 => &["list", "--format", "json"],
        _ => &["run", "-d", "-b", b.path_str(), id],
    };
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn twenty_racing_operations_on_one_id_twenty_times() {
    const N: usize = 20;
    let h = Hull::new();
    let b = Bundle::sleeping();
    for round in 0..ROUNDS {
        let id = h.id("race");
        let barrier = Barrier::new(N);
        let outs: Vec<Out> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..N)
                .map(|i| {
                    let (h, b, barrier, id) = (&h, &b, &barrier, &id);
                    // A different mix each round.
                    let args = op(i * 7 + round * 3, b, id);
                    s.spawn(move || {
                        let args: Vec<&str> = args.iter().map(String::as_str).collect();
                        barrier.wait();
                        h.spawn(&args).wait_timeout(NO_HANG)
                    })
                })
                .collect();
            handles.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for out in &outs {
            no_panic(out);
        }
        let succeeded = |what: &[&str]| {
            outs.iter()
                .filter(|o| o.ok() && what.iter().any(|w| o.cmdline.contains(w)))
                .count()
        };
        // A second create of the ID can only succeed after a delete of the first.
        let (creates, deletes) = (succeeded(&[" create ", " run "]), succeeded(&[" delete "]));
        assert!(
            creates <= 1 + deletes,
            "round {round}: {creates} creates and {deletes} deletes of one ID succeeded"
        );
        // Whatever the race left is a whole container or nothing: never a dir without a
        // readable state, and `list` shows no container in error.
        let dir = h.state_dir(&id);
        if dir.exists() {
            let text = std::fs::read_to_string(dir.join("state.json"))
                .unwrap_or_else(|e| panic!("round {round}: state dir without state.json: {e}"));
            serde_json::from_str::<Value>(&text)
                .unwrap_or_else(|e| panic!("round {round}: corrupt state.json: {e}\n{text}"));
            let st = h.state(&id);
            assert_ne!(st["status"], "creating", "round {round}: {st}");
        }
        let list = h.ok(&["list", "--format", "json"]);
        assert!(!list.stdout.contains("\"error\""), "round {round}{list}");
        h.ok(&["delete", "-f", &id]);
        assert_no_residue(&h, &b, &id);
    }
}
