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
//!
//! One concern a file: `cmd` (commands with a timeout, `Out`), `hull` (the `Hull` runner),
//! `bundle` (rootfs and bundles), `residue` (what must not be left behind: state entries,
//! mounts, cgroups), `procs` (finding processes through /proc), `parse` (mountinfo and /proc
//! text), `console` (`--console-socket`), `fault` (the debug build's fault switch), `scratch`
//! (temp dirs and unique names), and `../skip` (how a test that cannot run here says so).
#![allow(dead_code)]

#[path = "../skip/mod.rs"]
mod skip_mod;
#[allow(unused_imports)] // not every suite has tests that can skip
pub use skip_mod::skip;

mod bundle;
mod cmd;
mod console;
mod fault;
mod hull;
mod parse;
mod procs;
mod residue;
mod scratch;

// Every suite gets the whole harness through `use common::*;`; not every suite uses every part.
#[allow(unused_imports)]
pub use {
    bundle::*, cmd::*, console::*, fault::*, hull::*, parse::*, procs::*, residue::*, scratch::*,
};

#[allow(unused_imports)]
pub use serde_json::{Value, json};
