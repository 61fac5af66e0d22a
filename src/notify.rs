//! What systemd hands a runtime, passed on to the container as runc does:
//! - socket activation (sd_listen_fds(3)): when hull itself was given sockets (LISTEN_FDS=N with
//!   LISTEN_PID = hull's pid), fds 3..3+N stay open in the container process, whose env gets
//!   LISTEN_FDS=N and LISTEN_PID=1;
//! - sd_notify(3): with NOTIFY_SOCKET set, hull binds a datagram socket in the state dir, binds
//!   that dir into the container at /run/notify, points the container's NOTIFY_SOCKET there, and
//!   `start` forwards the container's READY=1 (with MAINPID) to the caller's NOTIFY_SOCKET.

use anyhow::{Context, Result};
use oci_spec::runtime::{MountBuilder, Process, Spec};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

/// The state dir's subdirectory holding the proxy socket; it is what the container sees.
const DIR: &str = "notify";
const SOCKET: &str = "notify.sock";
const IN_CONTAINER: &str = "/run/notify";

/// The caller's NOTIFY_SOCKET, if any.
fn host_socket() -> Option<String> {
    std::env::var("NOTIFY_SOCKET")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Number of sockets systemd passed to this very process (0 if none, or if they were meant for
/// another process: LISTEN_PID must be ours, as sd_listen_fds(3) requires).
fn listen_fds() -> u32 {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    if !ours {
        return 0;
    }
    std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n <= MAX_FDS)
        .unwrap_or(0)
}

/// The most fds LISTEN_FDS or --preserve-fds may pass: far above any fd limit, and low enough
/// that 3 plus both of them cannot overflow.
pub const MAX_FDS: u32 = 1 << 30;

/// Socket activation for the container's init: adds LISTEN_FDS/LISTEN_PID to its env and
/// returns how many fds from 3 up it must keep (before --preserve-fds ones, as runc orders them).
pub fn socket_activation(process: &mut Process) -> u32 {
    let n = listen_fds();
    if n == 0 {
        return 0;
    }
    let mut env = process.env().clone().unwrap_or_default();
    env.retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
    env.push(format!("LISTEN_FDS={n}"));
    // The init is pid 1 of its pid namespace, which is where the container looks.
    env.push("LISTEN_PID=1".to_string());
    process.set_env(Some(env));
    n
}

/// Create side, before anything is built: socket activation and, with NOTIFY_SOCKET, the bind
/// mount of `<state_dir>/notify` and the container's NOTIFY_SOCKET. Returns the number of
/// socket-activation fds to keep.
pub fn prepare_spec(spec: &mut Spec, state_dir: &Path) -> Result<u32> {
    let mut process = spec.process().clone().unwrap_or_default();
    let n = socket_activation(&mut process);
    if host_socket().is_some() {
        let mut env = process.env().clone().unwrap_or_default();
        env.retain(|e| !e.starts_with("NOTIFY_SOCKET="));
        env.push(format!("NOTIFY_SOCKET={IN_CONTAINER}/{SOCKET}"));
        process.set_env(Some(env));
        let mount = MountBuilder::default()
            .destination(IN_CONTAINER)
            .typ("bind")
            .source(state_dir.join(DIR))
            .options(
                ["bind", "nosuid", "noexec", "nodev", "ro"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>(),
            )
            .build()
            .context("NOTIFY_SOCKET: building the /run/notify mount")?;
        let mut mounts = spec.mounts().clone().unwrap_or_default();
        mounts.push(mount);
        spec.set_mounts(Some(mounts));
    }
    if spec.process().is_some() {
        spec.set_process(Some(process));
    }
    Ok(n)
}

/// Create side, once the state dir exists: the directory the proxy socket will live in.
pub fn make_dir(state_dir: &Path) -> Result<()> {
    if host_socket().is_none() {
        return Ok(());
    }
    let dir = state_dir.join(DIR);
    std::fs::create_dir(&dir)
        .with_context(|| format!("NOTIFY_SOCKET: creating {}", dir.display()))?;
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .with_context(|| format!("NOTIFY_SOCKET: chmod {}", dir.display()))
}

/// `start`'s end of the proxy: the bound socket the container sends to.
pub struct Proxy {
    socket: UnixDatagram,
    host: String,
}

impl Proxy {
    /// Binds the proxy socket if create prepared one and the caller has a NOTIFY_SOCKET.
    pub fn bind(state_dir: &Path) -> Result<Option<Proxy>> {
        let Some(host) = host_socket() else {
            return Ok(None);
        };
        let dir = state_dir.join(DIR);
        if !dir.is_dir() {
            // Created without NOTIFY_SOCKET: the container has no socket to talk to.
            return Ok(None);
        }
        let path = dir.join(SOCKET);
        let _ = std::fs::remove_file(&path);
        let short = crate::unix_path::usable(&path)?;
        let socket = UnixDatagram::bind(&short.path)
            .with_context(|| format!("NOTIFY_SOCKET: binding {}", path.display()))?;
        // Any container user may notify.
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .with_context(|| format!("NOTIFY_SOCKET: chmod {}", path.display()))?;
        Ok(Some(Proxy { socket, host }))
    }

    /// Waits for the container's READY=1 and passes it on with MAINPID=<init>, as long as the
    /// init lives. Other notifications (STATUS=…) are not forwarded, as with runc.
    pub fn forward(self, init_pid: i32, alive: impl Fn() -> bool) -> Result<()> {
        self.socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .context("NOTIFY_SOCKET: setting a read timeout")?;
        let mut buf = vec![0u8; 4096];
        let ready = loop {
            match self.socket.recv(&mut buf) {
                Ok(n) => {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    if let Some(line) = text.lines().find(|l| l.starts_with("READY=")) {
                        break line.to_string();
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    if !alive() {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e).context("NOTIFY_SOCKET: reading the proxy socket"),
            }
        };
        let msg = format!("{ready}\nMAINPID={init_pid}\n");
        let client = UnixDatagram::unbound().context("NOTIFY_SOCKET: creating a socket")?;
        match self.host.strip_prefix('@') {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)
                    .with_context(|| format!("NOTIFY_SOCKET {}", self.host))?;
                client.send_to_addr(msg.as_bytes(), &addr)
            }
            None => {
                let short = crate::unix_path::usable(Path::new(&self.host))?;
                client.send_to(msg.as_bytes(), &short.path)
            }
        }
        .with_context(|| format!("NOTIFY_SOCKET {}: forwarding READY", self.host))?;
        Ok(())
    }
}
