//! `doctor`: what porttune can and cannot do here (text and JSON). Formatting only: the
//! findings are decided by `model::doctor`.

use colored::Colorize;

use serde::Serialize;

use crate::render::wrap;

pub use crate::model::doctor::{Context, Finding};

/// The findings for people.
pub fn text(ctx: &Context, out: &[Finding]) -> String {
    let w = wrap::terminal_width();
    let mut s = String::new();
    let ns = ctx.netns.as_deref().unwrap_or("unknown");
    let where_ = match (ctx.initial_netns, ctx.container.as_deref()) {
        _ if ctx.os == crate::snapshot::Os::Macos => format!(
            "macOS {}, {}",
            ctx.kernel.as_deref().unwrap_or(""),
            if ctx.root { "as root" } else { "not root" }
        ),
        (_, Some(c)) => format!("inside a container ({c}), network namespace {ns}"),
        (Some(false), None) => format!("in a child network namespace {ns}"),
        (Some(true), None) => format!("on the host, network namespace {ns}"),
        _ => format!("network namespace {ns} (whether it is the host's could not be read)"),
    };
    s.push_str(&wrap::wrap(
        &format!("{} {where_}", "Here:".bold()),
        w,
        "",
        "  ",
    ));
    for x in out {
        let label = match (x.can, x.needed) {
            (true, _) => "[can   ]".green().to_string(),
            (false, true) => "[cannot]".red().bold().to_string(),
            (false, false) => "[cannot]".yellow().to_string(),
        };
        s.push_str(&wrap::wrap(
            &format!("{}: {}", x.what, x.why),
            w,
            &format!("{label} "),
            "         ",
        ));
        if let Some(fix) = &x.fix {
            s.push_str(&wrap::wrap(fix, w, "         fix: ", "           "));
        }
    }
    s
}

/// The `doctor --format json` document.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DoctorJson<'a> {
    /// The document's version (docs/json.md).
    pub schema: u32,
    /// Where porttune runs.
    pub context: &'a Context,
    pub findings: &'a [Finding],
}

impl<'a> DoctorJson<'a> {
    pub fn new(context: &'a Context, findings: &'a [Finding]) -> Self {
        DoctorJson {
            schema: 1,
            context,
            findings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mac_is_named_as_one() {
        let mut snap = crate::snapshot::Snapshot::default();
        snap.platform.os = crate::snapshot::Os::Macos;
        let root = crate::model::doctor::macos_findings(&snap, true);
        let ctx = Context {
            root: true,
            netns: None,
            initial_netns: None,
            container: None,
            systemd: false,
            os: crate::snapshot::Os::Macos,
            kernel: Some("23.4.0".into()),
        };
        assert!(text(&ctx, &root).contains("macOS 23.4.0, as root"));
    }
}
