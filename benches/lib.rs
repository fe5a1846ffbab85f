//! Benchmarks of meshperf's hot paths live in `benches/*.rs` (criterion); this library is empty.
