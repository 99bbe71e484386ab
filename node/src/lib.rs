//! # passerelle-node
//!
//! The node an institution runs on its own premises. It keeps the
//! institution's data, dials out to the hub over mutual-TLS QUIC, and
//! answers the hub's signed queries with signed answers. It never opens an
//! inbound port. This library is what the `passerelle-node` binary runs;
//! tests start it in-process with [`serve::start`].
//!
//! ## Layout
//! - [`paths`]: the files of a node folder.
//! - [`actor`]: who acts (an operator at the command line, an agent in
//!   the console), as records and the audit chain name them.
//! - [`refusal`]: the rules a request can break, typed.
//! - [`agents`]: the console's agent accounts and their roles.
//! - [`console`]: the console, the agents' web application (off unless
//!   `console_listen` is set).
//! - [`identity`]: the node's key, certificate and trusted CA, loaded.
//! - [`answer`]: what the node says to one query (pure; no IO).
//! - [`data`]: CSV import into cubes, and aggregate answers (pure).
//! - [`batches`]: imports and validations against the store.
//! - [`enroll`]: `init`, the enrollment exchange.
//! - [`serve`]: the link loop and the running node's state.
//! - [`store`]: the store (the only module that knows the storage engine):
//!   query log, batches and cubes, the vault's records, the audit chain.
//! - [`vault`]: documents held about persons (sealed at rest), links to
//!   vault accounts, consent checks, the audit chain.
//! - [`doctor`]: the diagnosis of a node folder and its link.
//! - [`debris`]: partial and orphan document files of interrupted
//!   deposits, found and removed.
//! - [`handshake`]: why a handshake with the hub failed, and the fix.
//! - [`metrics`]: optional Prometheus metrics on a local address.
//! - [`admin`]: requests other commands send to a running node.
//! - [`api`]: the integration API for business software (tokens, dataset
//!   files, deposits, OpenAPI document); [`drop`]: watched folders;
//!   [`intake`]: the import path both share, recorded in the audit chain.
//! - [`cli`]: the command line and its dispatcher; [`commands`]: one
//!   named step per command.

pub mod actor;
pub mod admin;
pub mod agents;
pub mod answer;
pub mod api;
pub mod batches;
pub mod cli;
pub mod commands;
pub mod console;
pub mod data;
pub mod debris;
pub mod doctor;
pub mod drop;
pub mod enroll;
pub mod error;
pub mod handshake;
pub mod identity;
pub mod intake;
pub mod metrics;
pub mod paths;
pub mod refusal;
pub mod serve;
pub mod store;
pub mod vault;

pub use actor::Actor;
pub use error::{FailureKind, NodeError, RemoteError};
pub use refusal::Refusal;

/// Version of this build, reported to the hub.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
