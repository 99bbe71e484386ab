//! # passerelle-provenance
//!
//! What a published figure is made of, in a form anyone can check: the
//! indicator formulas and their pure composition from node answers (the
//! hub composes with this code, and the standalone `passerelle-verify`
//! recomputes with the same code), and the provenance bundle a member of
//! the public downloads with "Vérifier ce chiffre". No IO, no clock, no
//! certificate parsing: the hub builds and signs bundles, the verifier
//! checks certificates with `passerelle-certs`.
//!
//! ## Layout
//! - [`formula`]: terms, formulas, rounding of published values.
//! - [`compose`]: an indicator composed from node answers (pure).
//! - [`bundle`]: the provenance bundle, the hub's signed statement in it,
//!   and the rule deciding which answers it may disclose.
//! - [`hexbytes`]: bytes written as hexadecimal text in bundles.
//! - [`population`]: the reference populations (denominators) a
//!   composition used.

pub mod bundle;
pub mod compose;
pub mod formula;
pub mod hexbytes;
pub mod population;
