//! The port range as the kernel sees it: the order in which the range and
//! `ip_unprivileged_port_start` must be written so a valid pair applies, and the reserved
//! ports and listeners a widened range runs onto (counted in the plan's prediction).

use crate::plan::{Action, Change, Plan};
use crate::snapshot::{PortRange, Snapshot};

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

fn parse_range(v: &str) -> Option<PortRange> {
    let mut it = v.split_whitespace().filter_map(|p| p.parse::<u16>().ok());
    Some(PortRange {
        lo: it.next()?,
        hi: it.next()?,
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
/// model counts those inside whichever range it is given). A warning when the new range
/// holds reserved ports or listeners.
pub fn prepare(plan: &Plan, before: &mut Snapshot, sys: &SysctlFs) -> Option<String> {
    if let Ok(v) = sys.read("net.ipv4.ip_local_reserved_ports")
        && let Ok(spans) = crate::snapshot::procsys::parse_port_list(&v)
    {
        before.net.ip_local_reserved_ports = spans;
    }
    #[cfg(target_os = "linux")]
    {
        let t = crate::snapshot::linux::tcp_table(std::path::Path::new("/proc"), "self");
        let mut all: Vec<u16> = t.listen_ports.into_iter().collect();
        all.retain(|p| !before.net.bound_ports_in_range.contains(p));
        before.net.bound_ports_in_range.extend(all);
    }
    let r = parse_range(new_value(&plan.changes, RANGE)?)?;
    let reserved: u64 = before
        .net
        .ip_local_reserved_ports
        .iter()
        .map(|s| {
            let (lo, hi) = (s.lo.max(r.lo), s.hi.min(r.hi));
            if lo <= hi { u64::from(hi - lo) + 1 } else { 0 }
        })
        .sum();
    let listeners = before
        .net
        .bound_ports_in_range
        .iter()
        .filter(|p| r.contains(**p))
        .count();
    if reserved == 0 && listeners == 0 {
        return None;
    }
    Some(format!(
        "the new port range {}–{} holds {reserved} reserved port(s) (ip_local_reserved_ports) and {listeners} listening port(s): connect() cannot use them; the prediction counts them out",
        r.lo, r.hi
    ))
}
