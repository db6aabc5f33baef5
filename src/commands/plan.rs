//! `porttune plan PROFILE`: what `apply` would change, and the ceiling before → after.

use crate::apply::prepare::TargetOptions;
use crate::cli::{PlanArgs, PlanFormat, TargetArgs};
use crate::error::{Result, exit};
use crate::render;

/// The options `plan` and `apply` share, from their arguments.
pub fn target_options(profile: &str, t: &TargetArgs) -> TargetOptions {
    TargetOptions {
        profile: profile.to_string(),
        persist: t.persist,
        root: t.root.clone(),
        sysctl_root: t.sysctl_root.clone(),
        os: t.host_os.as_deref().map(|os| match os {
            "macos" => crate::snapshot::Os::Macos,
            _ => crate::snapshot::Os::Linux,
        }),
        skip: t.skip.clone(),
    }
}

pub fn run(args: &PlanArgs) -> Result<i32> {
    let (p, _) = crate::apply::prepare::make_plan(&target_options(&args.profile, &args.target))?;
    match args.target.format {
        PlanFormat::Text => crate::out!("{}", render::plan::text(&p)),
        PlanFormat::Json => crate::out!(
            "{}",
            render::document(&render::plan::PlanJson::new(&p, 0, None, "plan"))
        ),
    }
    Ok(exit::OK)
}
