//! `smp`: the Service Mesh Performance (SMP) model and everything meshperf does with results.
