//! End-to-end and reference-parity tests live in `tests/`; this crate has no library code.
