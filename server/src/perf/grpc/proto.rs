//! Code generated from `proto/meshperf/perf.proto` (package `meshperf.perf.v1`) by build.rs.
#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]

tonic::include_proto!("meshperf.perf.v1");
