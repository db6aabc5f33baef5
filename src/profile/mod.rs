//! profile (see DESIGN).
