//! # passerelle-protocol
//!
//! The wire of Passerelle and the pure logic around it. Nothing here does IO,
//! reads a clock or spawns a task: time is a parameter, bytes come in and go
//! out as slices. The QUIC shells in `passerelle-link`, the node and the hub
//! feed these functions.
//!
//! ## Layout
//! - [`aggregate`]: aggregate queries and answers (cells, suppression).
//! - [`codec`]: the one place that calls bincode, always with a size limit.
//! - [`frame`]: length-prefixed frames, size checked before any allocation.
//! - [`sign`]: Ed25519 keys, signatures and SHA-256 fingerprints (ring).
//! - [`envelope`]: signed queries and signed replies, and their checks
//!   (signature, audience, clock window, replay).
//! - [`replay`]: the bounded nonce cache behind replay refusal.
//! - [`message`]: queries, answers and refusal reasons.
//! - [`directory`]: a partner's entry in the directory of actors.
//! - [`disclosure`]: statistical disclosure control of released tables
//!   (primary and secondary cell suppression, exact recoverability check).
//! - [`enroll`]: the enrollment exchange and the one-time token.
//! - [`ids`]: validated identifiers (node ids).
//! - [`geo`]: the reference geography (communes, EPCI, department).
//! - [`period`]: years, quarters and months.
//! - [`hex`]: hexadecimal text for fingerprints and tokens.
//! - [`vault`]: document categories, procedures, consent capabilities and
//!   their check at the holding node.
//! - [`seal`]: chunked authenticated encryption at rest, key wrapping.
//! - [`audit`]: the tamper-evident access log (hash chain).

pub mod aggregate;
pub mod audit;
pub mod codec;
pub mod directory;
pub mod disclosure;
pub mod enroll;
pub mod envelope;
pub mod frame;
pub mod geo;
pub mod hex;
pub mod ids;
pub mod message;
pub mod period;
pub mod replay;
pub mod seal;
pub mod sign;
pub mod vault;

/// Version (minor, within the ALPN's major `passerelle/1`) of the link
/// protocol spoken by this build.
///
/// - 1: ping, status, aggregates, directory.
/// - 2: the vault (documents, fetch, revoked consents), the trusted-CA
///   list, certificate renewal and link-code requests from nodes, the
///   diagnostic probe.
/// - 3: link-addressed queries ([`envelope::Audience::Linked`]), one
///   signature per fan-out.
///
/// A hub serves nodes one minor behind: it signs each query with the
/// version the node announced in its status, and sends it nothing newer.
pub const PROTOCOL_VERSION: u16 = 3;

/// The oldest version this build still speaks.
pub const MIN_PROTOCOL_VERSION: u16 = PROTOCOL_VERSION - 1;

/// ALPN of the authenticated link between a node and the hub.
pub const ALPN_LINK: &[u8] = b"passerelle/1";

/// ALPN of the diagnostic probe (`passerelle-node doctor`): the hub tells
/// its clock and version and whether it admits the node's certificate, and
/// registers nothing.
pub const ALPN_PROBE: &[u8] = b"passerelle-probe/1";

/// ALPN of the enrollment exchange, the only one accepted without a client
/// certificate.
pub const ALPN_ENROLL: &[u8] = b"passerelle-enroll/1";

/// Seconds since the Unix epoch. Every time-dependent check takes one.
pub type UnixTime = u64;
