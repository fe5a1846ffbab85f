//! Shared helpers for the end-to-end tests: test servers on loopback and the meshperf binary.
