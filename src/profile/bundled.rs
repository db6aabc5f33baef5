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
];

pub fn get(name: &str) -> Option<&'static str> {
    BUNDLED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

pub fn names() -> Vec<&'static str> {
    BUNDLED.iter().map(|(n, _)| *n).collect()
}

/// The `description:` of a bundled profile (first line), for `profiles list`.
pub fn summary(name: &str) -> String {
    crate::profile::load(name)
        .ok()
        .and_then(|p| p.description)
        .map(|d| d.lines().next().unwrap_or("").trim().to_string())
        .unwrap_or_default()
}
