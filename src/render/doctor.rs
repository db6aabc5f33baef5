//! `doctor`: what porttune can and cannot do here (text and JSON). Formatting only: the
//! findings are decided by `model::doctor`.

use colored::Colorize;

use crate::error::{Error, Result};
use crate::render::wrap;

pub use crate::model::doctor::Finding;

/// The findings for people.
pub fn text(ctx: &serde_json::Value, out: &[Finding]) -> String {
    let w = wrap::terminal_width();
    let mut s = String::new();
    let ns = ctx["netns"].as_str().unwrap_or("unknown");
    let where_ = match (ctx["initial_netns"].as_bool(), ctx["container"].as_str()) {
        _ if ctx["os"] == "macos" => format!(
            "macOS {}, {}",
            ctx["kernel"].as_str().unwrap_or(""),
            if ctx["root"] == true {
                "as root"
            } else {
                "not root"
            }
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

/// The findings as the JSON document (`"schema": 1`).
pub fn json(ctx: &serde_json::Value, out: &[Finding]) -> Result<String> {
    serde_json::to_string_pretty(&serde_json::json!({"schema": 1, "context": ctx, "findings": out}))
        .map_err(|e| Error::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mac_is_named_as_one() {
        let mut snap = crate::snapshot::Snapshot::default();
        snap.platform.os = crate::snapshot::Os::Macos;
        let root = crate::model::doctor::macos_findings(&snap, true);
        let ctx = serde_json::json!({"os": "macos", "kernel": "23.4.0", "root": true});
        assert!(text(&ctx, &root).contains("macOS 23.4.0, as root"));
    }
}
