//! Mutation fuzzing of the two parsers that read files hull does not control the contents of:
//! config.json (`spec::parse`: loading and every validation) and state.json (`State::parse`,
//! plus the status derived from what it parsed). Run by `cargo test` for a bounded time, since
//! cargo-fuzz needs a nightly toolchain that CI lacks.
//!
//! Each target starts from valid documents and applies random structural mutations (a node
//! replaced by a value of another type, an edge-case number or string, a key removed or added,
//! an array entry duplicated) and byte-level ones (flips, insertions, cuts) to the JSON text.
//! Properties: no panic, and every rejection is one non-empty line.
//!
//! HULL_FUZZ_SECS: seconds per target (default 15). HULL_FUZZ_SEED: the first seed (default:
//! from the clock); a failure prints the seed and the input, to replay.

use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// xorshift64*: enough randomness for mutations, and no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Keys the spec and the state use: added where they are not expected, they reach deeper code.
const KEYS: &[&str] = &[
    "ociVersion",
    "process",
    "root",
    "path",
    "readonly",
    "hostname",
    "domainname",
    "mounts",
    "destination",
    "type",
    "source",
    "options",
    "uidMappings",
    "gidMappings",
    "hooks",
    "prestart",
    "createRuntime",
    "poststop",
    "args",
    "env",
    "cwd",
    "user",
    "uid",
    "gid",
    "additionalGids",
    "umask",
    "capabilities",
    "bounding",
    "effective",
    "permitted",
    "inheritable",
    "ambient",
    "rlimits",
    "soft",
    "hard",
    "noNewPrivileges",
    "oomScoreAdj",
    "terminal",
    "consoleSize",
    "linux",
    "namespaces",
    "resources",
    "memory",
    "limit",
    "cpu",
    "shares",
    "quota",
    "period",
    "cpus",
    "pids",
    "devices",
    "allow",
    "access",
    "major",
    "minor",
    "cgroupsPath",
    "sysctl",
    "seccomp",
    "defaultAction",
    "syscalls",
    "names",
    "action",
    "errnoRet",
    "maskedPaths",
    "readonlyPaths",
    "rootfsPropagation",
    "unified",
    "containerID",
    "hostID",
    "size",
    "annotations",
    "id",
    "pid",
    "bundle",
    "rootfs",
    "created",
    "owner",
    "init_start",
    "cgroup",
    "cgroup_dir",
    "config",
    "creating",
    "status",
    "apparmorProfile",
    "selinuxLabel",
    "ioPriority",
    "personality",
    "timeOffsets",
    "intelRdt",
    "netDevices",
];

fn random_string(r: &mut Rng) -> String {
    let fixed = [
        "",
        "/",
        "..",
        "../../etc",
        "relative",
        "/proc/self",
        "CAP_SYS_ADMIN",
        "CAP_NOPE",
        "RLIMIT_NOFILE",
        "RLIMIT_NOPE",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_NOTIFY",
        "pid",
        "user",
        "bind",
        "rbind",
        "idmap",
        "a=b",
        "noeq",
        "x\u{0}y",
        "multi\nline",
        "ünïcödé ✓",
        "kernel.panic",
        "net.ipv4.ip_forward",
        "shared",
        "1.0.2",
        "memory.max",
        "../memory.max",
    ];
    match r.below(3) {
        0 => "z".repeat(r.below(5000)),
        _ => r.pick(&fixed).to_string(),
    }
}

fn random_number(r: &mut Rng) -> Value {
    let edge: [Value; 14] = [
        json!(0),
        json!(-1),
        json!(1),
        json!(255),
        json!(65536),
        json!(i32::MIN),
        json!(i32::MAX),
        json!(u32::MAX),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1.5),
        json!(-0.0),
        json!(1e300),
        json!(18446744073709551616.0),
    ];
    if r.chance(3) {
        json!(r.next())
    } else {
        r.pick(&edge).clone()
    }
}

fn random_value(r: &mut Rng, depth: usize) -> Value {
    match r.below(if depth > 2 { 4 } else { 6 }) {
        0 => Value::Null,
        1 => Value::Bool(r.chance(2)),
        2 => random_number(r),
        3 => Value::String(random_string(r)),
        4 => Value::Array(
            (0..r.below(4))
                .map(|_| random_value(r, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..r.below(4))
                .map(|_| (r.pick(KEYS).to_string(), random_value(r, depth + 1)))
                .collect(),
        ),
    }
}

/// A random node of `v` (the root included), reached by walking down at random.
fn random_node<'a>(r: &mut Rng, v: &'a mut Value) -> &'a mut Value {
    let stop = r.chance(4);
    let len = match v {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        _ => 0,
    };
    if stop || len == 0 {
        return v;
    }
    let i = r.below(len);
    match v {
        Value::Array(a) => random_node(r, &mut a[i]),
        Value::Object(o) => {
            let child = o.values_mut().nth(i).expect("i < len");
            random_node(r, child)
        }
        _ => unreachable!("len > 0 only for containers"),
    }
}

fn mutate_structure(r: &mut Rng, doc: &mut Value) {
    for _ in 0..1 + r.below(4) {
        let node = random_node(r, doc);
        match r.below(6) {
            0 => *node = random_value(r, 0),
            // Same type, new value: gets past typing to the checks behind it.
            5 => match node {
                Value::String(_) => *node = Value::String(random_string(r)),
                Value::Bool(b) => *b = !*b,
                _ => *node = random_number(r),
            },
            1 => {
                if let Value::Object(o) = node
                    && !o.is_empty()
                {
                    let k = o.keys().nth(r.below(o.len())).cloned().expect("non-empty");
                    o.remove(&k);
                }
            }
            2 => {
                if let Value::Object(o) = node {
                    o.insert(r.pick(KEYS).to_string(), random_value(r, 1));
                }
            }
            3 => {
                if let Value::Array(a) = node
                    && !a.is_empty()
                {
                    let dup = a[r.below(a.len())].clone();
                    a.push(dup);
                }
            }
            _ => *node = random_number(r),
        }
    }
}

fn mutate_bytes(r: &mut Rng, text: &mut Vec<u8>) {
    for _ in 0..1 + r.below(8) {
        if text.is_empty() {
            text.push(b'{');
        }
        let i = r.below(text.len());
        match r.below(4) {
            0 => text[i] ^= 1 << r.below(8),
            1 => text.insert(i, *r.pick(b"{}[]\",:0-9e.\\ \n\xff")),
            2 => {
                text.remove(i);
            }
            _ => text.truncate(i),
        }
    }
}

/// One input: the text to parse, made from a seed document.
fn input(r: &mut Rng, seeds: &[Value]) -> String {
    let mut doc = r.pick(seeds).clone();
    mutate_structure(r, &mut doc);
    let mut text = serde_json::to_vec(&doc).expect("a Value serialises");
    if r.chance(3) {
        mutate_bytes(r, &mut text);
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// Runs `check` on mutated inputs for the time budget; panics with the seed and input of the
/// first failure. Returns (inputs, accepted).
fn campaign(name: &str, seeds: &[Value], check: impl Fn(&str) -> Result<(), String>) {
    let secs: u64 = std::env::var("HULL_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let seed: u64 = std::env::var("HULL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
        | 1;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut r = Rng(seed);
    let mut n = 0u64;
    let mut accepted = 0u64;
    while Instant::now() < deadline {
        // One rng per input, seeded from the campaign's: a failure can be replayed alone.
        let case_seed = r.next() | 1;
        let text = input(&mut Rng(case_seed), seeds);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&text)));
        n += 1;
        match outcome {
            Ok(Ok(())) => accepted += 1,
            Ok(Err(msg)) if !msg.is_empty() && !msg.contains('\n') => {}
            Ok(Err(msg)) => panic!(
                "fuzz {name}: rejection is not one line: {msg:?}\n(case seed {case_seed}) input: {text}"
            ),
            Err(_) => panic!("fuzz {name}: panic (case seed {case_seed}) on input: {text}"),
        }
    }
    eprintln!(
        "fuzz {name}: {n} inputs in {secs} s, {accepted} accepted, {} rejected in one line, no panic (seed {seed})",
        n - accepted
    );
    assert!(n > 0);
}

/// The error line hull would print for `e`.
fn line(e: &anyhow::Error) -> String {
    format!("{e:#}")
}

#[test]
fn fuzz_config_loading_and_validation() {
    let mut seeds = vec![
        crate::spec::default_spec(false),
        crate::spec::default_spec(true),
    ];
    let docker: Value =
        serde_json::from_str(include_str!("../bundles/seccomp/docker-default.json"))
            .expect("the shipped Docker profile is JSON");
    let mut with_seccomp = crate::spec::default_spec(false);
    with_seccomp["linux"]["seccomp"] = docker;
    with_seccomp["linux"]["resources"] = json!({
        "memory": {"limit": 1048576, "swap": 2097152},
        "cpu": {"shares": 512, "quota": 10000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 10},
        "devices": [{"allow": false, "access": "rwm"}],
        "unified": {"memory.high": "1000000"}
    });
    with_seccomp["process"]["rlimits"] =
        json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024}]);
    with_seccomp["process"]["oomScoreAdj"] = json!(100);
    with_seccomp["mounts"]
        .as_array_mut()
        .expect("the default spec has mounts")
        .push(json!({"destination": "/v", "type": "bind", "source": "/tmp", "options": ["rbind", "ro"]}));
    seeds.push(with_seccomp);
    campaign("config", &seeds, |text| {
        crate::spec::parse(text).map(drop).map_err(|e| line(&e))
    });
}

#[test]
fn fuzz_state_file_parsing() {
    let config = crate::spec::default_spec(false);
    let seeds = vec![json!({
        "ociVersion": "1.0.2",
        "id": "c1",
        "pid": std::process::id(),
        "bundle": "/b",
        "rootfs": "/b/rootfs",
        "created": "2026-01-01T00:00:00Z",
        "owner": "",
        "annotations": {"a": "b"},
        "init_start": 1,
        "cgroup": "/hull/c1",
        "cgroup_dir": "/sys/fs/cgroup/hull/c1",
        "config": config,
        "creating": false
    })];
    // Status derivation reads the state dir (exec.fifo) and the process: give it a real, empty dir.
    let dir = std::env::temp_dir().join(format!("hull-fuzz-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(crate::container::STATE_FILE);
    campaign("state", &seeds, |text| {
        let st = crate::container::State::parse(text, &path).map_err(|e| line(&e))?;
        let status = st.status(&dir);
        let _ = st.public(status);
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
}
