//! porttune: predict, lift and prove a host's concurrent TCP connection ceiling.
//!
//! Stages (see docs/model.md): `snapshot` (probe the host, or load a saved snapshot) →
//! `model` (pure prediction) → `render`; `profile` + `plan` + `apply` change a host;
//! `flood` measures the real ceiling on loopback.

pub mod apply;
pub mod cli;
pub mod commands;
pub mod error;
pub mod explain;
pub mod flood;
pub mod fsio;
pub mod model;
pub mod out;
pub mod plan;
pub mod profile;
pub mod render;
pub mod settings;
pub mod snapshot;
pub mod text;
