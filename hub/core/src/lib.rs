//! # passerelle-hub-core
//!
//! What every area of the hub stands on: the hub folder and its keys, the
//! CA that enrolls nodes (held apart, so the web layer never sees it), the
//! store, the registry of live node connections, signed queries to nodes
//! over the link, rate limits and the metrics registry. Nothing here knows
//! about indicators, the vault or web pages.
//!
//! ## Layout
//! - [`paths`]: the files of a hub folder.
//! - [`init`]: `hub init`, the CA and the hub certificate.
//! - [`store`]: the store (the only module that knows the storage engine):
//!   tokens, nodes, serials, and the typed keyspaces the other areas keep
//!   their records in.
//! - [`ops`]: the loaded [`ops::Hub`] and the certificate authority's
//!   operations (enroll, rotate, revoke).
//! - [`renewal`]: renewal inside its window, once; what a connection with
//!   the newest certificate supersedes; the keys certified per serial.
//! - [`providers`]: which node may provide which dataset (the operator's
//!   approvals) and what nodes claim.
//! - [`contest`]: connections fighting over one node id, and the hold-off
//!   that slows the flapping down.
//! - [`registry`]: live connections and the handshake gate.
//! - [`federation`]: signed queries to nodes, verified replies, status polls.
//! - [`download`]: documents streamed from a node, checked, with a stall
//!   deadline.
//! - [`actors`]: directory entries the operator adds for actors
//!   without a node.
//! - [`partners`]: partner professionals' accounts and sessions.
//! - [`ratelimit`]: attempts per address.
//! - [`loglimit`]: repeated log events per peer, with the count left out.
//! - [`metrics`]: the process-wide metrics registry.
//! - [`french`]: numbers and dates written for French readers.

pub mod actors;
pub mod contest;
pub mod download;
pub mod error;
pub mod fanout;
pub mod federation;
pub mod french;
pub mod init;
pub mod loglimit;
pub mod metrics;
pub mod ops;
pub mod partners;
pub mod paths;
pub mod providers;
pub mod ratelimit;
pub mod refusal;
pub mod registry;
pub mod renewal;
pub mod store;

pub use error::HubError;
pub use refusal::Refusal;

/// Version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
