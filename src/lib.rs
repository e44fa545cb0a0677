#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![cfg_attr(not(feature = "std"), no_std)]

/// The engine itself, `walden-core` (`#![no_std]`, no allocator): the
/// [`engine::Connection`] over caller-provided memory and any
/// [`engine::storage::Storage`], the on-disk format, the WAL and the B+tree
/// modules. Named `engine`, not `core`, so that `use walden::*` leaves the
/// standard `core` crate reachable (`core::mem::swap` still resolves).
pub use walden_core as engine;

#[cfg(feature = "std")]
pub use walden_std::*;
