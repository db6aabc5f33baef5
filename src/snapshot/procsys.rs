//! Reading /proc/sys (Linux) under a configurable root.
