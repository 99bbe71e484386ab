//! The storage engine under the node's store and the hub's: one sled
//! database per store, made safe to run on a disk that fills up or fails
//! ([`Engine`]: free-space reserve, bounded flush, contained panics,
//! probe and reopen, [`passerelle_link::health::Health`]), opened behind
//! the store's lock file ([`Handle::open`]), with one error type
//! ([`StoreError`]) and the backup interfaces
//! ([`passerelle_link::backup::Snapshot`] and
//! [`passerelle_link::backup::Staging`], on [`Handle`], and through it on
//! each program's store with [`backup_through!`]).
//!
//! The hub's store reaches its engine through [`kv::Db`]: sled, or a
//! PostgreSQL schema that several hub instances share ([`pg`]). The
//! node's store stays on sled.
//!
//! Each program keeps its own store module (`hub/core/src/store/`,
//! `node/src/store/`) for its trees and records; those modules are the
//! only places outside this crate that name sled, through the
//! re-exported [`sled`].

mod engine;
mod error;
mod handle;
pub mod kv;
pub mod pg;

pub use engine::{Engine, FLUSH_PATIENCE};
pub use error::StoreError;
pub use handle::{Handle, CLOSING_PATIENCE};
pub use kv::{Bytes, Db, Tree};
/// For [`backup_through!`].
#[doc(hidden)]
pub use passerelle_link::backup as __backup;
pub use pg::PgSettings;
/// The engine itself, for the store modules' trees and transactions.
pub use sled;

/// The program a store belongs to: what it is held by says the fix its
/// operators know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// `passerelle-hub`.
    Hub,
    /// `passerelle-node`.
    Node,
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Whose store it is.
    pub program: Program,
    /// sled's low-space mode (smaller files, compacted more often; sled
    /// 0.34's default), or, off, its high-throughput mode.
    pub low_space: bool,
}

impl Options {
    /// The options of `program`'s store: low-space mode.
    pub fn new(program: Program) -> Self {
        Self {
            program,
            low_space: true,
        }
    }
}
