//! Meshery adapters: meshperf speaking Meshery's adapter protocol (`meshes.MeshService`).
//!
//! # Layout
//! - [`proto`]: the generated `meshes` messages, client and server.
//! - [`meshops`]: [`MeshAdapter`], meshperf as a Meshery performance adapter on port 10013.

pub mod meshops;
pub mod proto;

pub use meshops::{ADAPTER_NAME, MeshAdapter, RUN_TEST_OP};
