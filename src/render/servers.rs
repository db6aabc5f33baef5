//! `porttune explain --servers`: the catalog's servers and their caps as text (wrapped to the
//! width given) or JSON (`explain::servers::Listing`).

use super::wrap::wrap;
use crate::explain::servers::Listing;

/// The listing as text, every line at most `width` columns.
pub fn text(l: &Listing, width: usize) -> String {
    let mut out = wrap(
        "The server products porttune reads the caps of: detected from a running process (--pid, --process, --unit) or named with --runtime NAME. The formulas and measurements are in docs/runtimes.md.",
        width,
        "",
        "",
    );
    for s in &l.servers {
        out.push('\n');
        let package = if s.package.is_empty() {
            String::new()
        } else {
            format!(", Debian package {}", s.package)
        };
        out.push_str(&wrap(
            &format!("{} (--runtime {}{package})", s.product, s.runtime),
            width,
            "",
            "  ",
        ));
        let field = |out: &mut String, name: &str, v: &str| {
            out.push_str(&wrap(v, width, &format!("  {name}: "), "      "));
        };
        field(&mut out, "recognised by", &s.recognised_by.join("; "));
        if !s.configuration.is_empty() {
            field(&mut out, "configuration", &s.configuration.join(", "));
        }
        for c in &s.caps {
            let mut how = Vec::new();
            if c.per_listener {
                how.push("per listener".to_string());
            }
            if !c.flags.is_empty() {
                how.push(format!("flag {}", c.flags.join(", ")));
            }
            let how = if how.is_empty() {
                String::new()
            } else {
                format!(" ({})", how.join("; "))
            };
            field(
                &mut out,
                "cap",
                &format!(
                    "{}{how}, default {} → {}",
                    c.setting,
                    c.default,
                    c.feeds.join(", ")
                ),
            );
        }
        if !s.other_ceilings.is_empty() {
            let name = if s.caps.is_empty() {
                "ceilings"
            } else {
                "also"
            };
            field(&mut out, name, &s.other_ceilings.join(", "));
        }
        if !s.listeners.is_empty() {
            let rows: Vec<String> = s
                .listeners
                .iter()
                .map(|l| {
                    let port = l.default_port.map_or(String::new(), |p| format!(" {p}"));
                    let cap = l.cap.as_deref().unwrap_or("no cap");
                    let plugin = l
                        .plugins
                        .first()
                        .map_or(String::new(), |p| format!(", with {p}"));
                    format!("{}{port} ({cap}{plugin})", l.protocol)
                })
                .collect();
            field(
                &mut out,
                "listeners",
                &format!("{}; check --port PORT judges one", rows.join("; ")),
            );
        }
        if let Some(vm) = &s.runs_on {
            field(&mut out, "runs on", &format!("{vm}, whose caps apply too"));
        }
        if let Some(lift) = &s.lift {
            field(&mut out, "lift", lift);
        }
    }
    out.push('\n');
    let runtimes: Vec<String> = l
        .runtimes
        .iter()
        .map(|r| format!("{} ({})", r.product, r.runtime))
        .collect();
    out.push_str(&wrap(
        &format!(
            "Runtimes: {}. What runs on them is application code: the ceiling is the runtime's, and a cap in its own code is not visible (state one with --app-limit N:NAME).",
            runtimes.join(", ")
        ),
        width,
        "",
        "",
    ));
    out
}

/// The listing as JSON.
pub fn json(l: &Listing) -> String {
    super::document(l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::servers::listing;
    use crate::render::wrap::visible_len;

    #[test]
    fn the_listing_fits_80_columns_and_names_every_server() {
        let l = listing();
        let t = text(&l, 80);
        for line in t.lines() {
            assert!(
                visible_len(line) <= 80,
                "{} columns: {line}",
                visible_len(line)
            );
        }
        for s in &l.servers {
            assert!(
                t.contains(&format!("--runtime {}", s.runtime)),
                "{}",
                s.product
            );
            for c in &s.caps {
                assert!(t.contains(&c.setting), "{}: {}", s.product, c.setting);
            }
        }
        assert!(t.contains("max_connections (per listener), default -1 (unlimited)"));
        let v: serde_json::Value = serde_json::from_str(&json(&l)).unwrap();
        assert_eq!(v["servers"].as_array().unwrap().len(), l.servers.len());
    }
}
