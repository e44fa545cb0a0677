//! # walden-testkit
//!
//! The machinery of Walden's reliability suite (issue: power loss, I/O
//! faults and corrupt input), shared by the integration tests, the
//! cargo-fuzz targets in `fuzz/` and anyone who wants to run the same checks
//! against their own workloads.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod crash;
pub mod exec;
pub mod fuzz;
pub mod ioerr;
pub mod workload;
