//! `periscope-emulator`: the Periscope Data User & Role Management API in
//! memory, for integration tests, benchmarks and `--sandbox`.
//!
//! Not built yet: the emulator lands with its own issue. The crate exists now
//! so that the workspace layout and lints are fixed from the start.
