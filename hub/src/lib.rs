//! # passerelle-hub
//!
//! The hub the DEETS runs, wired from its areas: this crate owns the
//! command line, the admin socket, the QUIC listener (enrollment, the link,
//! the doctor's probe) and the start and stop of everything. Tests start it
//! in-process with [`server::start`].
//!
//! The areas are crates of their own, below this one:
//! - `passerelle-hub-core` (`hub/core`): folder, keys, CA operations,
//!   store, registry, federation, rate limits, metrics;
//! - `passerelle-observatory` (`hub/observatory`): catalog, refresh,
//!   composition, history, verification, resource centre;
//! - `passerelle-vault` (`hub/vault`): the digital vault's service;
//! - `passerelle-portal` (`hub/portal`): the web layer.
//!
//! ## Layout
//! - [`server`]: the running hub (QUIC, portal, admin socket).
//! - [`admission`]: admission control on the QUIC listener, and the
//!   refusals at its handshake by reason.
//! - [`requests`]: requests nodes make on their link.
//! - [`notices`]: the task that asks nodes for deposits and sends the
//!   notices persons asked for.
//! - [`population`]: the operator's reference populations (import, load).
//! - [`admin`]: requests other commands send to a running hub.
//! - [`cli`]: the command line and its dispatcher; [`commands`]: one
//!   named step per command; [`directory`]: the `directory` command
//!   (entries for actors without a node).
//! - [`upstream`]: hub of hubs, this hub answering a national hub as one
//!   of its nodes, from its published results.
//! - `demo` (feature `demo`, on by default): a hub and demonstration nodes
//!   in one process; the only module that uses `passerelle-node`.

pub mod admin;
pub mod admission;
pub mod cli;
pub mod commands;
#[cfg(feature = "demo")]
pub mod demo;
pub mod directory;
pub mod notices;
pub mod population;
pub mod requests;
pub mod server;
pub mod upstream;

pub use passerelle_hub_core::{HubError, VERSION};
