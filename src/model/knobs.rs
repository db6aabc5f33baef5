//! Which sysctls live in each network namespace and which are host-wide
//! (limits-facts.md §7, checked on Linux 6.18): the `scope` of the Linux settings table.

use crate::settings::{self, Scope};
use crate::snapshot::Os;

fn with_scope(scope: Scope) -> impl Iterator<Item = &'static str> {
    settings::linux::SETTINGS
        .iter()
        .filter(move |s| s.scope == scope && s.alias_of.is_none())
        .map(|s| s.key)
}

/// Per network namespace: writable inside a container's or pod's own namespace, so they can
/// be set as container sysctls (`docker run --sysctl`, pod `securityContext.sysctls`).
pub fn per_netns() -> impl Iterator<Item = &'static str> {
    with_scope(Scope::Netns)
}

/// Host-wide: only the host (initial namespaces, root) can change them.
pub fn host_wide() -> impl Iterator<Item = &'static str> {
    with_scope(Scope::Host)
}

/// True for keys known to be per network namespace; unknown keys are treated as host-wide.
pub fn is_per_netns(key: &str) -> bool {
    settings::find(Os::Linux, key).is_some_and(|s| s.scope == Scope::Netns)
}
