//! # passerelle-vault
//!
//! The digital vault (coffre-fort numérique): beneficiaries' accounts,
//! links to the institutions that hold their records, documents listed and
//! streamed from the nodes (the hub keeps none of their bytes), the
//! person's own uploads sealed under their key, consents, verifiable
//! duplicates, and the access log. Its errors are typed; French words for
//! people are the portal's business.
//!
//! ## Layout
//! - [`service`]: the [`Vault`]: listings and downloads across nodes,
//!   every access logged.
//! - [`accounts`]: accounts, keys, password reset, sessions.
//! - [`links`]: link codes and per-node pseudonyms.
//! - [`oidc`]: providers attached to accounts (FranceConnect), the data
//!   key wrapped per device.
//! - [`uploads`]: the person's own documents, [`quota`]: their room.
//! - [`consent`]: grants and revocations.
//! - [`duplicate`]: verifiable copies, [`pdf`]: the copy's file.
//! - [`zip`]: the export archive.
//! - [`store`]: the vault's trees in the hub store.
//! - [`error`]: typed refusals ([`Refusal`]) and [`VaultError`].
//! - [`debris`]: temporary and orphan upload files of interrupted uploads.
//! - [`verify`]: one-time codes that verify an identifier before an
//!   account exists.
//! - [`notify`]: messages to people and their senders (SMTP, an SMS
//!   gateway over HTTP).
//! - [`notices`]: what persons asked to be told (a deposit, a view, a
//!   consent ending), queued and sent once.

pub mod accounts;
pub mod consent;
pub mod debris;
pub mod duplicate;
pub mod error;
pub mod links;
pub mod notices;
pub mod notify;
pub mod oidc;
pub mod pdf;
pub mod quota;
pub mod service;
pub mod store;
pub mod uploads;
pub mod verify;
pub mod zip;

pub use error::{Refusal, VaultError};
pub use service::{AccessError, Holding, Nodes, Unavailable, Vault};
