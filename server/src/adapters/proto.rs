//! Code generated from `proto/meshes/meshops.proto` (package `meshes`, Meshery's adapter
//! protocol) by build.rs.
#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]

tonic::include_proto!("meshes");
