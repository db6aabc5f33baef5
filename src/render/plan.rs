//! `plan` (and `apply`'s plan): text and JSON. Formatting only.

use std::path::Path;

use colored::Colorize;
use serde::Serialize;

use crate::plan::{Change, Plan, Skipped, Unchanged, WhatIf};

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
    skipped(&mut s, p, w);
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

/// The JSON document of `plan` and `apply` (`mode`: plan, check, dry-run, apply): the plan,
/// what was changed, the journal written and, with `apply --verify`, the proof.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PlanJson<'a> {
    /// The document's version (docs/json.md).
    pub schema: u32,
    pub profile: &'a str,
    /// The file or `bundled:NAME` the profile was loaded from.
    pub source: &'a str,
    /// `plan`, `check` (apply --check), `dry-run` (apply --dry-run) or `apply`.
    pub mode: &'a str,
    pub persist: bool,
    pub changes: &'a [Change],
    /// How many changes were made (0 unless `mode` is `apply`).
    pub changed: usize,
    /// How many changes the plan holds.
    pub needed: usize,
    /// The journal written by this apply (`porttune rollback JOURNAL` undoes it).
    pub journal: Option<String>,
    pub unchanged: &'a [Unchanged],
    /// Settings of the profile left out (`--skip`, `optional: true` keys this host refuses).
    pub skipped: &'a [Skipped],
    pub warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prediction: Option<&'a WhatIf>,
    /// `apply --verify`: the flood and its verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyJson>,
}

/// `apply --verify`: did a bounded loopback flood reach the profile's required connections?
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct VerifyJson {
    pub required: u64,
    pub measured: u64,
    /// The plan's prediction for the profile's own scenario after the change.
    pub predicted: Option<u64>,
    pub ok: bool,
    /// The profile's scenario kind.
    pub scenario: &'static str,
    /// What a loopback flood proves for that scenario, in one sentence.
    pub proves: String,
    /// After a failed verify: whether the changes are still applied (false after
    /// `--rollback-on-fail` restored them, or when this apply changed nothing).
    pub still_applied: bool,
    /// `--rollback-on-fail`: the rollback of this apply's journal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled_back: Option<crate::apply::engine::RolledBack>,
    pub flood: crate::flood::report::FloodReport,
}

impl<'a> PlanJson<'a> {
    pub fn new(p: &'a Plan, changed: usize, journal: Option<&Path>, mode: &'a str) -> Self {
        PlanJson {
            schema: 1,
            profile: &p.profile,
            source: &p.source,
            mode,
            persist: p.persist,
            changes: &p.changes,
            changed,
            needed: p.changes.len(),
            journal: journal.map(|j| j.display().to_string()),
            unchanged: &p.unchanged,
            skipped: &p.skipped,
            warnings: &p.warnings,
            prediction: p.prediction.as_ref(),
            verify: None,
        }
    }
}

/// What `apply` changed, as text wrapped at `width`: the changes, the keys left out and why,
/// the warnings, and the journal that undoes it.
pub fn applied(p: &Plan, changed: usize, journal: &Path, width: usize) -> String {
    use crate::render::wrap::wrap;
    let mut o = format!("{} `{}`:\n", "Applied profile".bold(), p.profile);
    for c in &p.changes {
        let t = format!(
            "{}: {} → {} ({})",
            c.key,
            c.from.as_deref().unwrap_or("?"),
            c.to,
            c.scope
        );
        o.push_str(&wrap(&t, width, "  ", "      "));
        if let Some(r) = &c.restart {
            o.push_str(&wrap(r, width, "      takes effect after: ", "        "));
        }
    }
    skipped(&mut o, p, width);
    for w in &p.warnings {
        o.push_str(&wrap(w, width, &format!("{} ", "warning:".yellow()), "  "));
    }
    o.push_str(&format!("changed: {changed}\n"));
    // Paths are printed whole (a cut path cannot be pasted).
    o.push_str(&format!("journal: {}\n", journal.display()));
    o.push_str(&format!(
        "undo: {}\n",
        crate::render::journal::undo_command(journal)
    ));
    o
}

/// The profile's keys left out, and why (`--skip`, `optional: true` keys refused here).
fn skipped(o: &mut String, p: &Plan, width: usize) {
    use crate::render::wrap::wrap;
    if p.skipped.is_empty() {
        return;
    }
    o.push_str(&format!("Skipped ({}, not changed):\n", p.skipped.len()));
    for k in &p.skipped {
        o.push_str(&wrap(
            &format!("{}: {}", k.key, k.why),
            width,
            "  ",
            "      ",
        ));
    }
}

/// `apply --verify` as text: the scope, the flood's report, the verdict and, after a failure,
/// where the changes stand (still applied, with the command that undoes them, or rolled back).
pub fn verified(v: &VerifyJson, journal: Option<&Path>, width: usize) -> String {
    use crate::render::wrap::{wrap, wrap_lines};
    use crate::render::{flood, thousands};
    let mut o = String::from("\n");
    let t = format!(
        "up to the profile's {} connections; {}",
        thousands(v.required),
        v.proves
    );
    o.push_str(&wrap(&t, width, "verify: ", "  "));
    o.push_str(&wrap_lines(&flood::text(&v.flood), width));
    let short = v.predicted.filter(|&a| a < v.required).map(|a| {
        format!(
            "; the plan predicts {} for the profile's {} scenario, below the required {}: a loopback flood cannot prove it",
            thousands(a),
            v.scenario,
            thousands(v.required)
        )
    });
    let verdict = if v.ok {
        "ok".green().to_string()
    } else {
        "FAILED".red().bold().to_string()
    };
    let t = format!(
        "{verdict} — measured {} on loopback, required {}{}",
        thousands(v.measured),
        thousands(v.required),
        short.unwrap_or_default()
    );
    o.push_str(&wrap(&t, width, "verify: ", "  "));
    if v.ok {
        return o;
    }
    let after = match (&v.rolled_back, journal) {
        (Some(r), _) => {
            let (text, err) = crate::render::journal::rolled_back(r, width);
            let state = if r.failed.is_empty() {
                "every value this apply changed is back (--rollback-on-fail)".to_string()
            } else {
                format!(
                    "the rollback failed for {} value(s); see above, and run `porttune rollback {}` again",
                    r.failed.len(),
                    r.journal.display()
                )
            };
            format!("{text}{err}{}", wrap(&state, width, "", "  "))
        }
        (None, Some(j)) if v.still_applied => wrap(
            &format!(
                "the changes are still applied (exit 1 does not undo them): keep them, or undo them with `{}`; `apply --verify --rollback-on-fail` undoes them by itself",
                crate::render::journal::undo_command(j)
            ),
            width,
            "",
            "  ",
        ),
        _ => wrap(
            "this apply changed nothing: the host was already as the profile says, and it does not hold the required connections",
            width,
            "",
            "  ",
        ),
    };
    o.push_str(&after);
    o
}
