//! `plan` (and `apply`'s plan): text and JSON. Formatting only.

use std::path::Path;

use colored::Colorize;
use serde_json::json;

use crate::plan::Plan;

/// The plan as text.
pub fn text(p: &Plan) -> String {
    use crate::render::wrap::{terminal_width, wrap};
    let w = terminal_width();
    let mut s = format!(
        "{} `{}` ({}), persist: {}\n",
        "Profile".bold(),
        p.profile,
        p.source,
        if p.persist { "yes" } else { "no" }
    );
    if p.changes.is_empty() {
        s.push_str("No changes needed: the host already matches the profile.\n");
    } else {
        s.push_str(&format!("{} change(s):\n", p.changes.len()));
        for c in &p.changes {
            s.push_str(&format!(
                "  {}: {} → {}\n",
                c.key,
                c.from.as_deref().unwrap_or("(unknown)"),
                c.to
            ));
            let mut d = format!(
                "scope: {}; needs: {}{}; restart: {}",
                c.scope,
                c.needs,
                if c.allowed {
                    String::new()
                } else {
                    " (MISSING)".red().bold().to_string()
                },
                c.restart.as_deref().unwrap_or("no")
            );
            if let Some(why) = &c.why {
                d.push_str(&format!("; {why}"));
            }
            s.push_str(&wrap(&d, w, "      ", "        "));
            if let Some(instead) = crate::plan::where_instead(c) {
                s.push_str(&wrap(&instead, w, "      ", "        "));
            }
        }
    }
    if !p.unchanged.is_empty() {
        s.push_str("Already in place:\n");
        for u in &p.unchanged {
            let t = format!("{} = {} ({})", u.key, u.value, u.why);
            s.push_str(&wrap(&t, w, "  ", "      "));
        }
    }
    if !p.skipped.is_empty() {
        s.push_str("Skipped:\n");
        for k in &p.skipped {
            s.push_str(&wrap(&format!("{}: {}", k.key, k.why), w, "  ", "      "));
        }
    }
    for warning in &p.warnings {
        let first = format!("{} ", "warning:".yellow());
        s.push_str(&wrap(warning, w, &first, "  "));
    }
    if let Some(pred) = &p.prediction {
        let side = |n: u64, b: &str| {
            if b.is_empty() {
                "n/a (no prediction)".to_string()
            } else {
                format!("{} (bottleneck: {b})", crate::render::thousands(n))
            }
        };
        let mut t = format!(
            "{} ({}): {} → {}",
            "Predicted ceiling".bold(),
            p.scenario.kind.name(),
            side(pred.before, &pred.before_bottleneck),
            side(pred.after, &pred.after_bottleneck)
        );
        if let Some(r) = pred.required {
            t.push_str(&format!(
                "; the profile requires {}",
                crate::render::thousands(r)
            ));
        }
        s.push_str(&wrap(&t, w, "", "  "));
    }
    s
}

/// The plan as the JSON document of `plan` and `apply` (`mode`: plan, check, dry-run, apply),
/// with what was changed and the journal written.
pub fn json(p: &Plan, changed: usize, journal: Option<&Path>, mode: &str) -> serde_json::Value {
    json!({
        "profile": p.profile,
        "source": p.source,
        "mode": mode,
        "persist": p.persist,
        "changes": p.changes,
        "changed": changed,
        "needed": p.changes.len(),
        "journal": journal.map(|j| j.display().to_string()),
        "unchanged": p.unchanged,
        "skipped": p.skipped,
        "warnings": p.warnings,
        "prediction": p.prediction,
    })
}

/// What `apply` changed, as text.
pub fn applied(p: &Plan, changed: usize, journal: &Path) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "{} `{}`:", "Applied profile".bold(), p.profile);
    for c in &p.changes {
        let _ = writeln!(
            o,
            "  {}: {} → {} ({})",
            c.key,
            c.from.as_deref().unwrap_or("?"),
            c.to,
            c.scope
        );
        if let Some(r) = &c.restart {
            let _ = writeln!(o, "      takes effect after: {r}");
        }
    }
    for w in &p.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    let _ = writeln!(o, "changed: {changed}");
    let _ = writeln!(
        o,
        "journal: {} (undo: porttune rollback)",
        journal.display()
    );
    o
}
