//! Plan: (Snapshot, Profile) → list of changes `key: old → new` with scope. Filled by the apply work.
