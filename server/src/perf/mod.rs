//! Performance tests: the perf gRPC service and worker ([`grpc`]) and runs spread over workers
//! ([`distributed`]).

pub mod distributed;
pub mod grpc;
