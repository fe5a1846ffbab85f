//! Performance tests: profiles, runs and results over REST, the perf gRPC service ([`grpc`]),
//! runs spread over workers ([`distributed`]), and the one [`pipeline`] every door's runs take.

pub mod bodies;
pub mod distributed;
pub mod grpc;
pub mod pipeline;
pub mod profiles;
pub mod results;
pub mod runs;
