//! `porttune flood`: the measuring instrument. It opens connections on loopback (or to a
//! local `--target`) until a limit stops it, classifies the stop into the model's ceiling
//! names, and compares the count with the prediction for the same scenario.
//!
//! Data flows one way: `cli` (options) → `workers` (fork, watch, reap) → `engine` (one epoll
//! loop per worker) → `report` (result structs, verdict) → `render` (text, JSON, Markdown).

pub mod classify;
pub mod cli;
pub mod engine;
pub mod platform;
pub mod render;
pub mod report;
mod run;
pub mod shm;
pub mod workers;
