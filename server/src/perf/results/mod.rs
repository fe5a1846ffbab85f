//! Results over REST: paged lists (all, per profile, by date), one result as JSON, the SMP YAML
//! download and exports.
//!
//! # Layout
//! - [`model`]: the result as the API returns it (Meshery's `MesheryResult`, camelCase).
//! - [`export`]: the export formats.
//! - [`handlers`]: the axum handlers.

pub mod export;
pub mod handlers;
pub mod model;

pub use model::{ResultPage, ResultView};
