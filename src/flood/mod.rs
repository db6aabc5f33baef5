//! flood (see DESIGN).
