//! macOS / FreeBSD probes (sysctl crate).
