//! # Walden
//!
//! An embedded, SQLite-style WAL-mode key-value database. This crate
//! re-exports the `no_std` core ([`core`], crate `walden-core`) and, with the
//! default `std` feature, the std backend (crate `walden-std`): open a
//! [`Database`] with [`Database::open`].
#![forbid(unsafe_code)]
#![cfg_attr(not(feature = "std"), no_std)]

pub use walden_core as core;

#[cfg(feature = "std")]
pub use walden_std::*;
