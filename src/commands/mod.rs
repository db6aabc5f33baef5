//! Command implementations: glue between cli, probe, model and render.

pub mod check;
pub mod doctor;
pub mod explain;
pub mod man;
