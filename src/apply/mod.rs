//! apply: the only writer. Journal first, then every change in order with a read-back;
//! on the first failure everything already changed is restored. `rollback` restores a
//! journal. See docs/profiles.md.

pub mod cause;
pub mod engine;
pub mod guard;
pub mod journal;
pub mod limits;
pub mod ports;
pub mod prepare;
pub mod status;
pub mod sysctl;
pub mod warn;
