//! Every command: its arguments (from `cli`) into typed options, the stages, the renderer.
//! Only commands print, prompt or show progress.

pub mod apply;
pub mod check;
pub mod completions;
pub mod doctor;
pub mod explain;
pub mod flood;
pub mod man;
pub mod plan;
pub mod profiles;
pub mod rollback;
pub mod schema;
pub mod status;
