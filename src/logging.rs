//! runc-compatible logging: `--log FILE`, `--log-format text|json`, `--debug`.
//!
//! containerd and podman read the log file and surface its last `"level":"error"` line, so the
//! root cause must end up there as one JSON object per line (logrus's shape).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;
use std::sync::OnceLock;

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
    if level == "debug" && !logger.debug {
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

pub fn debug(msg: &str) {
    emit("debug", msg);
}

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
