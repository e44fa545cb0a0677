//! The B+trees of a database: the page format ([`page`]), the tree
//! operations (`tree`), the freelist (`freelist`), cursors ([`cursor`]), the
//! integrity check ([`verify`]) and the read-only walks of [`stat`] (count,
//! tree shape). Everything here reads and writes pages
//! through the pager only; nothing here knows about the WAL.
//!
//! A database holds a catalog tree (table name -> root page, 4 bytes LE),
//! a default table, and any number of named tables; values too large for a
//! leaf cell go to overflow chains; free pages are on the freelist.

pub(crate) mod balance;
pub mod cursor;
pub mod freelist;
pub mod page;
pub mod stat;
pub mod tree;
pub mod verify;
