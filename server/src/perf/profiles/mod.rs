//! Performance profiles over REST: list, get, upsert, delete (`/api/user/performance/profiles`).
//!
//! # Layout
//! - [`model`]: the profile as the API reads and writes it, validation and masking.
//! - [`handlers`]: the axum handlers.

pub mod handlers;
pub mod model;

pub use model::{ProfilePage, ProfileView};
