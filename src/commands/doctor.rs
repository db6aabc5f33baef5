//! `porttune doctor`: what porttune can and cannot do here, why, and the fix for each
//! "cannot". The abilities are read by `snapshot::abilities`, judged by `model::doctor`.

use crate::cli::{DoctorArgs, DoctorFormat};
use crate::error::{Result, exit};
use crate::model::doctor;
use crate::render;
use crate::snapshot::{self, probe::ProbeOptions};

pub fn run(a: &DoctorArgs) -> Result<i32> {
    let snap = snapshot::probe::probe(&ProbeOptions::default())?;
    let ab = snapshot::abilities::read();
    let out = if snap.platform.os == crate::snapshot::Os::Macos {
        doctor::macos_findings(&snap, ab.root)
    } else {
        doctor::findings(&snap, &ab)
    };
    let ctx = doctor::context(&snap, &ab);
    match a.format {
        DoctorFormat::Json => crate::out!(
            "{}",
            render::document(&render::doctor::DoctorJson::new(&ctx, &out))
        ),
        DoctorFormat::Text => crate::out!("{}", render::doctor::text(&ctx, &out)),
    }
    Ok(if doctor::missing(&out) {
        exit::FAILED
    } else {
        exit::OK
    })
}
