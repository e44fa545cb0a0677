#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![cfg_attr(not(feature = "std"), no_std)]

pub use walden_core as core;

#[cfg(feature = "std")]
pub use walden_std::*;
