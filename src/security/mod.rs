//! Process security attributes: capabilities, seccomp, no_new_privs, LSM labels.

pub mod capabilities;
pub mod seccomp;
