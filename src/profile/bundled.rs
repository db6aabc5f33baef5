//! Profiles shipped inside the binary (the files in profiles/).

/// (name, YAML text), in the order `profiles list` shows them.
pub const BUNDLED: &[(&str, &str)] = &[
    ("base", include_str!("../../profiles/base.yaml")),
    (
        "development",
        include_str!("../../profiles/development.yaml"),
    ),
    ("production", include_str!("../../profiles/production.yaml")),
    (
        "outbound-heavy",
        include_str!("../../profiles/outbound-heavy.yaml"),
    ),
    ("erlang", include_str!("../../profiles/erlang.yaml")),
    ("container", include_str!("../../profiles/container.yaml")),
    ("macos-dev", include_str!("../../profiles/macos-dev.yaml")),
];

pub fn get(name: &str) -> Option<&'static str> {
    BUNDLED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

pub fn names() -> Vec<&'static str> {
    BUNDLED.iter().map(|(n, _)| *n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::knobs::is_per_netns as per_netns;

    #[test]
    fn container_has_only_per_netns_keys_and_no_limits() {
        let p = crate::profile::load("container").unwrap();
        assert!(!p.sysctl.is_empty());
        for k in p.sysctl.keys() {
            assert!(per_netns(k), "{k} is not per network namespace");
        }
        assert!(p.limits.targets.is_empty() && p.limits.nofile.is_none());
        assert!(
            p.chain.len() == 1,
            "container must not extend host-wide profiles"
        );
    }

    #[test]
    fn production_holds_half_a_million() {
        let p = crate::profile::load("production").unwrap();
        assert!(p.require.as_ref().unwrap().connections >= 500_000);
        assert!(p.persist);
        let nofile = p.limits.nofile.unwrap();
        assert!(nofile.soft >= crate::snapshot::Rlim::Value(500_000));
        assert!(nofile.soft != crate::snapshot::Rlim::Unlimited);
    }

    #[test]
    fn erlang_sets_finite_nofile_and_q_p() {
        let p = crate::profile::load("erlang").unwrap();
        let e = p.erlang.unwrap();
        assert!(e.max_ports.unwrap() >= 1_048_576);
        assert!(e.max_processes.is_some());
        assert!(matches!(
            p.limits.nofile.unwrap().soft,
            crate::snapshot::Rlim::Value(_)
        ));
    }

    /// Every profile says who it is for, and every sysctl and limit line has a comment
    /// (on the lines just above it) saying why.
    #[test]
    fn every_value_is_explained() {
        for (name, text) in BUNDLED {
            assert!(text.starts_with(&format!("# {name}:")), "{name}: header");
            assert!(text.contains("Who it is for"), "{name}: who it is for");
            let lines: Vec<&str> = text.lines().collect();
            let mut section = "";
            for (i, l) in lines.iter().enumerate() {
                if !l.starts_with(' ') && !l.starts_with('#') && !l.is_empty() {
                    section = if l.ends_with(':') { l } else { "" };
                    continue;
                }
                if !(section == "sysctl:" || section == "limits:" || section == "runtime:") {
                    continue;
                }
                let t = l.trim_start();
                if t.is_empty()
                    || t.starts_with('#')
                    || t.starts_with("targets")
                    || t.ends_with(':')
                {
                    continue;
                }
                let commented = lines[..i]
                    .iter()
                    .rev()
                    .take(6)
                    .take_while(|p| !p.trim().is_empty())
                    .any(|p| p.trim_start().starts_with('#'));
                assert!(commented, "{name}: no comment explains `{t}`");
            }
        }
    }
}
