//! Named checks with stable IDs.
