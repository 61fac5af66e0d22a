//! runc-compatible logging: `--log FILE`, `--log-format text|json`, `--debug`.
//!
//! containerd and podman read the log file and surface its last `"level":"error"` line, so the
//! root cause must end up there as one JSON object per line (logrus's shape).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

struct Logger {
    file: Option<Mutex<File>>,
    format: Format,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Set in a container process once its stderr is the container's terminal: debug lines that
/// would go to stderr are dropped from then on rather than written into the container's output.
static STDERR_TAKEN: AtomicBool = AtomicBool::new(false);

/// Opens the log destination. Without `--log`, messages go to stderr.
pub fn init(path: Option<&std::path::Path>, format: Format, debug: bool) -> anyhow::Result<()> {
    let file = match path {
        Some(p) => Some(Mutex::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| anyhow::anyhow!("--log {}: {e}", p.display()))?,
        )),
        None => None,
    };
    let _ = LOGGER.set(Logger {
        file,
        format,
        debug,
    });
    Ok(())
}

fn emit(level: &str, msg: &str) {
    let Some(logger) = LOGGER.get() else {
        eprintln!("{level}: {msg}");
        return;
    };
    if level == "debug"
        && (!logger.debug || (logger.file.is_none() && STDERR_TAKEN.load(Ordering::Relaxed)))
    {
        return;
    }
    let line = match logger.format {
        Format::Json => format!(
            "{}\n",
            serde_json::json!({"level": level, "msg": msg, "time": crate::time::rfc3339_now()})
        ),
        Format::Text => format!(
            "time=\"{}\" level={} msg=\"{}\"\n",
            crate::time::rfc3339_now(),
            level,
            msg.replace('"', "\\\"")
        ),
    };
    match &logger.file {
        Some(f) => {
            if let Ok(mut f) = f.lock() {
                let _ = f.write_all(line.as_bytes());
            }
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

/// One debug line; callers use debug!, which skips the formatting without `--debug`.
pub fn debug_line(msg: &str) {
    emit("debug", msg);
}

/// Called by a container process (which inherited hull's logger) before its stderr becomes the
/// container's terminal.
pub fn stderr_is_the_containers() {
    STDERR_TAKEN.store(true, Ordering::Relaxed);
}

/// Whether `--debug` is on: debug! formats its message only then.
pub fn debug_enabled() -> bool {
    LOGGER.get().is_some_and(|l| l.debug)
}

/// `debug!("create: cgroup {}", path.display())`: a debug line, formatted only under
/// `--debug`. Steps of create, start and exec log through it, so that a user can see where a
/// failure happened; without `--debug` a step costs one atomic load (create is benchmarked).
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::logging::debug_enabled() {
            $crate::logging::debug_line(&format!($($arg)*));
        }
    };
}
pub(crate) use debug;

pub fn warn(msg: &str) {
    emit("warning", msg);
}

/// Records the fatal error. With a log file it goes there (for the engine) and, as runc does,
/// to stderr as well (for a person at a shell).
pub fn error(msg: &str) {
    if let Some(logger) = LOGGER.get()
        && logger.file.is_some()
    {
        emit("error", msg);
    }
    let _ = writeln!(std::io::stderr(), "hull: {msg}");
}
