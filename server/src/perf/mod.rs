//! Performance tests: the perf gRPC service and worker ([`grpc`]) and runs spread over workers
//! ([`distributed`]).

pub mod distributed;
pub mod grpc;
pub mod profiles;
pub mod results;
pub mod runs;
