//! Current usage of the resource behind a ceiling, as a share of it, where porttune knows it:
//! computed once, here (`porttune_usage_ratio` in the textfile).

use super::{CeilingName, Prediction, names};
use crate::snapshot::Snapshot;

/// The fds the process can use: those open now plus those the `process_fds` ceiling's
/// connections take (fds per connection of the scenario). One formula for the FdUsage check
/// and the textfile's ratio.
pub fn process_fds_usable(snap: &Snapshot, p: &Prediction) -> Option<u64> {
    let c = p.get(names::PROCESS_FDS)?;
    Some(
        c.value
            .saturating_mul(p.scenario.fds_per_conn())
            .saturating_add(snap.process.open_fds),
    )
}

/// The share of `ceiling` in use now: fds open of the fds the process can use (open ones plus
/// those the ceiling's connections take), file handles of fs.file-max, conntrack entries of
/// nf_conntrack_max. `None` for other ceilings or when the counts are not known.
pub fn usage_ratio(snap: &Snapshot, p: &Prediction, ceiling: CeilingName) -> Option<f64> {
    // only ceilings the prediction has (system_files is not applicable for root, …)
    p.get(ceiling)?;
    let ratio = |used: u64, of: u64| (of > 0).then(|| used as f64 / of as f64);
    match ceiling {
        names::PROCESS_FDS => ratio(snap.process.open_fds, process_fds_usable(snap, p)?),
        names::SYSTEM_FILES => ratio(snap.fs.file_nr_allocated?, snap.fs.file_max?),
        names::CONNTRACK => {
            let ct = snap.net.conntrack.as_ref()?;
            ratio(ct.count?, ct.max?)
        }
        _ => None,
    }
}
