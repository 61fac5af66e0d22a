//! The container's processes: the clone of the init, the create↔init handshake, and the init's
//! own sequence.

pub mod apply;
pub mod console;
pub mod execve;
pub mod foreground;
pub mod init;
pub mod joiner;
pub mod namespaces;
pub mod sched;
pub mod stdio;
pub mod sync;
pub mod user;
