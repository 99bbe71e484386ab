//! # passerelle-hub
//!
//! The hub the DEETS runs: the CA that enrolls partner nodes, the QUIC
//! listener nodes dial, the registry of nodes, the signed queries sent to
//! them, and the web portal. This library is what the `passerelle-hub`
//! binary runs; tests start it in-process with [`server::start`].
//!
//! ## Layout
//! - [`paths`]: the files of a hub folder.
//! - [`catalog`]: the indicator catalog (TOML; shipped and local).
//! - [`compose`]: indicators composed from node answers (pure).
//! - [`observatory`]: refresh, history and provenance of indicators.
//! - [`init`]: `hub init`, the CA and the hub certificate.
//! - [`store`]: the sled store: tokens, nodes, issued and revoked serials.
//! - [`ops`]: enroll, list, revoke, redeem a token: the operations that
//!   behave the same whether `serve` runs or not.
//! - [`registry`]: live connections and the handshake gate.
//! - [`ratelimit`]: enrollment and sign-in attempts per address.
//! - [`federation`]: signed queries to nodes, verified replies, status polls.
//! - [`metrics`]: Prometheus metrics and the network health page's data.
//! - [`server`]: the running hub (QUIC, portal, admin socket).
//! - [`portal`]: the web portal.
//! - [`partners`]: partner professionals' accounts and sessions.
//! - [`resources`]: the resource centre's documents.
//! - [`vault`]: the digital vault: accounts, links, documents across
//!   nodes, uploads, consents, verifiable copies, access log.
//! - [`admin`]: requests other commands send to a running hub.
//! - [`demo`]: a hub and demonstration nodes in one process.
//! - [`cli`]: the command line.

pub mod admin;
pub mod catalog;
pub mod cli;
pub mod compose;
pub mod demo;
pub mod error;
pub mod federation;
pub mod init;
pub mod metrics;
pub mod observatory;
pub mod ops;
pub mod partners;
pub mod paths;
pub mod portal;
pub mod ratelimit;
pub mod registry;
pub mod resources;
pub mod server;
pub mod store;
pub mod vault;

pub use error::HubError;

/// Version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
