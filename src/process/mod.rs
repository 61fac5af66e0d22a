//! The container's processes: the clone of the init, the create↔init handshake, and the init's
//! own sequence.

pub mod apply;
pub mod console;
pub mod exec;
pub mod exec_in;
pub mod init;
pub mod namespaces;
pub mod sched;
pub mod stdio;
pub mod sync;
pub mod tty;
pub mod user;
