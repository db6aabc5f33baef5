//! The port range as the kernel sees it: the order in which the range and
//! `ip_unprivileged_port_start` must be written so a valid pair applies, and the reserved
//! ports and listeners a widened range runs onto (counted in the plan's prediction).

use crate::plan::{Action, Change, Plan};
use crate::snapshot::Snapshot;

use super::sysctl::SysctlFs;

const RANGE: &str = "net.ipv4.ip_local_port_range";
const START: &str = "net.ipv4.ip_unprivileged_port_start";

fn new_value<'a>(changes: &'a [Change], key: &str) -> Option<&'a str> {
    changes.iter().find_map(|c| match &c.action {
        Action::Sysctl { key: k, new, .. } if k == key => Some(new.as_str()),
        _ => None,
    })
}

fn old_value<'a>(changes: &'a [Change], key: &str) -> Option<&'a str> {
    changes.iter().find_map(|c| match &c.action {
        Action::Sysctl { key: k, old, .. } if k == key => old.as_deref(),
        _ => None,
    })
}

/// The kernel refuses a range whose low end is below `ip_unprivileged_port_start`, and a
/// start above the range's low end. Lowering both: the start goes first; raising both:
/// the range goes first (key order already puts it first). Rollback restores in reverse,
/// which is again a valid order.
pub fn order_for_kernel(plan: &mut Plan) {
    let (Some(new_start), Some(old_start)) = (
        new_value(&plan.changes, START).and_then(|v| v.trim().parse::<u32>().ok()),
        old_value(&plan.changes, START).and_then(|v| v.trim().parse::<u32>().ok()),
    ) else {
        return;
    };
    if new_start >= old_start || new_value(&plan.changes, RANGE).is_none() {
        return;
    }
    let key_of = |c: &Change| match &c.action {
        Action::Sysctl { key, .. } => key.clone(),
        _ => String::new(),
    };
    let (Some(r), Some(s)) = (
        plan.changes.iter().position(|c| key_of(c) == RANGE),
        plan.changes.iter().position(|c| key_of(c) == START),
    ) else {
        return;
    };
    if s > r {
        let start = plan.changes.remove(s);
        plan.changes.insert(r, start);
    }
}

/// Give `before` what the prediction after a widened range needs: the reserved ports as
/// the sysctl root reads them, and every port listening in this network namespace (the
/// model counts those inside whichever range it is given, so a range widened onto them is
/// predicted as the kernel will use it). The warnings are `super::warn`'s.
pub fn prepare(before: &mut Snapshot, sys: &SysctlFs, listening: &[u16]) {
    if let Ok(v) = sys.read("net.ipv4.ip_local_reserved_ports")
        && let Ok(spans) = crate::snapshot::procsys::parse_port_list(&v)
    {
        before.net.ip_local_reserved_ports = spans;
    }
    for p in listening {
        if !before.net.bound_ports_in_range.contains(p) {
            before.net.bound_ports_in_range.push(*p);
        }
    }
}
