//! Meshery adapters: meshperf speaking Meshery's adapter protocol (`meshes.MeshService`).
//!
//! # Layout
//! - [`proto`]: the generated `meshes` messages, client and server.
//! - [`meshops`]: [`MeshAdapter`], meshperf as a Meshery performance adapter on port 10013.
//! - [`smp_config`]: the SMP test config of `ApplyOperation` read into a plan.

pub mod meshops;
pub mod proto;
pub mod smp_config;

pub use meshops::{ADAPTER_NAME, MeshAdapter, RUN_TEST_OP};
