//! apply (see DESIGN).
