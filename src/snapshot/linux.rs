//! Linux probes.
