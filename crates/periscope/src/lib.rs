//! `periscope-client`: the typed async client of the Periscope Data User & Role
//! Management API (`shared/periscope-api.md`). It knows nothing of YAML.
//!
//! Not built yet: the client lands with its own issue. The crate exists now so
//! that the workspace layout and lints are fixed from the start.
