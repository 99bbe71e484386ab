//! Certificate renewal, and what the hub learns when a node connects with
//! its newest certificate.
//!
//! A stolen node key must not be able to extend itself: a certificate is
//! renewed only inside its renewal window (the second half of its life),
//! unless the CA that issues now did not issue it (a CA rotation), and at
//! most once per window. A second renewal from the same certificate is
//! allowed only while the first renewal's certificate was never used (its
//! reply may have been lost on the way), at most
//! [`MAX_RENEWALS_FROM_ONE_CERTIFICATE`] times; it revokes the unused one
//! and raises an alert. The renewal record is pruned once the renewed
//! certificate is used (the older one is then revoked: superseded).
//!
//! The CA records the public key it certified under each serial; the
//! handshake gate ([`crate::registry::StoreGate`]) checks it.

use passerelle_certs::{Ca, NodeIdentity};
use passerelle_protocol::{ids::NodeId, UnixTime};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::{
    ops::Hub,
    store::{keyspace::Raw, FederationSpace, Keyspace, SerialRecord, Store},
    HubError, Refusal,
};

/// How many renewals one certificate may get in its window: the first,
/// and one retry whose reply was lost.
pub const MAX_RENEWALS_FROM_ONE_CERTIFICATE: u32 = 2;

/// A node's latest renewal, kept until the renewed certificate is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalRecord {
    /// Serial of the certificate presented to renew.
    pub from_serial: String,
    /// Serial of the certificate issued.
    pub issued_serial: String,
    /// When.
    pub at: UnixTime,
    /// Renewals from `from_serial` so far.
    pub attempts: u32,
}

/// When a certificate's renewal window opens: halfway through its life
/// (a node renews within `renew_before`, capped at half the life).
pub fn window_opens(not_before: UnixTime, not_after: UnixTime) -> UnixTime {
    not_before + not_after.saturating_sub(not_before) / 2
}

/// What a renewal request may do (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A first renewal from this certificate.
    Renew,
    /// A renewal again from the same certificate: the earlier renewal's
    /// certificate, never used, is revoked.
    RenewAgain {
        /// The unused certificate's serial.
        replaces: String,
    },
}

/// Decides a renewal request (pure): the certificate presented, whether
/// the CA issuing now did not issue it, the node's last renewal record.
///
/// # Errors
/// [`Refusal::RenewalTooEarly`] outside the window (unless `stale_issuer`),
/// [`Refusal::RenewedAlready`] once the certificate had its renewals.
pub fn check(
    presented: &NodeIdentity,
    stale_issuer: bool,
    last: Option<&RenewalRecord>,
    now: UnixTime,
) -> Result<Verdict, Refusal> {
    let opens = window_opens(presented.not_before, presented.not_after);
    if now < opens && !stale_issuer {
        return Err(Refusal::RenewalTooEarly {
            node: presented.node_id.clone(),
            opens,
        });
    }
    match last {
        Some(r) if r.from_serial == presented.serial => {
            if r.attempts >= MAX_RENEWALS_FROM_ONE_CERTIFICATE {
                Err(Refusal::RenewedAlready {
                    node: presented.node_id.clone(),
                })
            } else {
                Ok(Verdict::RenewAgain {
                    replaces: r.issued_serial.clone(),
                })
            }
        }
        _ => Ok(Verdict::Renew),
    }
}

fn renewals(store: &Store) -> Keyspace<RenewalRecord> {
    store.keyspace(FederationSpace::Renewals)
}

fn serial_keys(store: &Store) -> Keyspace<[u8; 32], Raw> {
    store.keyspace(FederationSpace::SerialKeys)
}

/// The key the CA certified under a serial, when recorded (certificates
/// issued before keys were recorded have none until they connect).
///
/// # Errors
/// On a store failure.
pub fn certified_key(store: &Store, serial: &str) -> Result<Option<[u8; 32]>, HubError> {
    Ok(serial_keys(store).get(serial.as_bytes())?)
}

/// Records a certificate the CA just issued: its node, its issuer, its key.
///
/// # Errors
/// On a store failure.
pub fn record_issued(
    store: &Store,
    identity: &NodeIdentity,
    ca_fingerprint: &[u8; 32],
    now: UnixTime,
) -> Result<(), HubError> {
    store.put_serial(
        &identity.serial,
        &SerialRecord {
            node_id: identity.node_id.clone(),
            issued_at: now,
            revoked_at: None,
        },
    )?;
    store.put_serial_issuer(&identity.serial, ca_fingerprint)?;
    let _w = store.writing()?;
    let keys = serial_keys(store);
    keys.insert(identity.serial.as_bytes(), &identity.public_key.0)?;
    keys.flush()?;
    Ok(())
}

/// Renews the certificate a connected node presented on its link for a
/// new key (its CSR). The presented certificate stays valid until the new
/// one is used.
///
/// # Errors
/// An unknown or revoked node, a superseded certificate, a renewal outside
/// the window or beyond its count (see [`check`]), a malformed CSR, a
/// store failure.
pub fn renew(
    hub: &Hub,
    ca: &Ca,
    presented: &NodeIdentity,
    presented_der: &[u8],
    csr_der: &[u8],
    now: UnixTime,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), HubError> {
    let node_id = &presented.node_id;
    let record = hub
        .store
        .node(node_id)?
        .filter(|n| n.revoked_at.is_none())
        .ok_or_else(|| Refusal::UnknownNode {
            node: node_id.clone(),
        })?;
    if hub
        .store
        .serial(&presented.serial)?
        .is_none_or(|s| s.revoked_at.is_some())
    {
        return Err(Refusal::CertificateSuperseded {
            node: node_id.clone(),
        }
        .into());
    }
    let stale_issuer = passerelle_certs::tls::verify_node_cert(
        std::slice::from_ref(&hub.trusted_cas[0]),
        presented_der,
        now,
    )
    .is_err();
    let last = renewals(&hub.store).get(node_id.as_str().as_bytes())?;
    let verdict = check(presented, stale_issuer, last.as_ref(), now).inspect_err(|r| {
        crate::metrics::global().renewal_refused();
        warn!(node = %node_id, reason = %r, "certificate renewal refused: stolen key or misbehaving node?");
    })?;
    let cert_der = ca.issue_node(
        csr_der,
        node_id,
        &record.name,
        now,
        hub.config.node_cert_validity.as_secs(),
    )?;
    let identity = NodeIdentity::from_der(&cert_der)?;
    record_issued(&hub.store, &identity, &ca.fingerprint(), now)?;
    let attempts = match &verdict {
        Verdict::Renew => 1,
        Verdict::RenewAgain { replaces } => {
            if let Some(mut s) = hub.store.serial(replaces)? {
                s.revoked_at.get_or_insert(now);
                hub.store.put_serial(replaces, &s)?;
            }
            crate::metrics::global().renewal_repeated();
            warn!(node = %node_id, unused = %replaces, "certificate renewed again from the same certificate: the earlier renewal was never used (a lost reply, or two holders of one key); it is revoked");
            last.as_ref().map_or(1, |r| r.attempts + 1)
        }
    };
    let _w = hub.store.writing()?;
    renewals(&hub.store).insert(
        node_id.as_str().as_bytes(),
        &RenewalRecord {
            from_serial: presented.serial.clone(),
            issued_serial: identity.serial.clone(),
            at: now,
            attempts,
        },
    )?;
    drop(_w);
    hub.store.update_node(node_id, |n| {
        n.serial = identity.serial.clone();
        n.cert_not_after = identity.not_after;
    })?;
    hub.store.flush()?;
    info!(node = %node_id, serial = %identity.serial, "node certificate renewed");
    Ok((cert_der, hub.trusted_cas.clone()))
}

/// A node connected with a certificate the gate admitted. When it is the
/// node's newest, its older certificates stop working (done now, not at
/// renewal, so a renewal reply lost on the way cannot lock the node out),
/// the renewal record is pruned, and the node's certificate facts (expiry,
/// key) are taken from this certificate.
///
/// # Errors
/// On a store failure.
pub fn connected_with(
    store: &Store,
    identity: &NodeIdentity,
    now: UnixTime,
) -> Result<(), HubError> {
    let node: &NodeId = &identity.node_id;
    let Some(record) = store.node(node)? else {
        return Ok(());
    };
    if record.serial != identity.serial {
        return Ok(());
    }
    store.supersede_serials(node, &identity.serial, now)?;
    let _w = store.writing()?;
    let space = renewals(store);
    if space
        .get(node.as_str().as_bytes())?
        .is_some_and(|r| r.from_serial != identity.serial)
    {
        space.remove(node.as_str().as_bytes())?;
    }
    // Certificates issued before keys were recorded: the one in use now.
    let keys = serial_keys(store);
    if keys.get(identity.serial.as_bytes())?.is_none() {
        keys.insert(identity.serial.as_bytes(), &identity.public_key.0)?;
    }
    drop(_w);
    if record.cert_not_after != identity.not_after {
        store.update_node(node, |n| n.cert_not_after = identity.not_after)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(serial: &str, not_before: u64, not_after: u64) -> NodeIdentity {
        NodeIdentity {
            node_id: NodeId::new("caf-976").unwrap(),
            institution: "CAF".into(),
            serial: serial.into(),
            not_before,
            not_after,
            public_key: passerelle_protocol::sign::PublicKey([1; 32]),
        }
    }

    #[test]
    fn renewal_only_in_the_second_half_of_life_unless_the_issuer_changed() {
        let c = cert("aa", 1000, 2000);
        assert_eq!(window_opens(1000, 2000), 1500);
        assert!(matches!(
            check(&c, false, None, 1499),
            Err(Refusal::RenewalTooEarly { opens: 1500, .. })
        ));
        assert_eq!(check(&c, false, None, 1500), Ok(Verdict::Renew));
        assert_eq!(
            check(&c, true, None, 1001),
            Ok(Verdict::Renew),
            "CA rotation"
        );
    }

    #[test]
    fn at_most_once_per_window_with_one_retry_for_a_lost_reply() {
        let c = cert("aa", 1000, 2000);
        let mut last = RenewalRecord {
            from_serial: "aa".into(),
            issued_serial: "bb".into(),
            at: 1600,
            attempts: 1,
        };
        assert_eq!(
            check(&c, false, Some(&last), 1601),
            Ok(Verdict::RenewAgain {
                replaces: "bb".into()
            })
        );
        last.attempts = MAX_RENEWALS_FROM_ONE_CERTIFICATE;
        assert!(matches!(
            check(&c, false, Some(&last), 1602),
            Err(Refusal::RenewedAlready { .. })
        ));
        // Another certificate's record does not count.
        last.from_serial = "zz".into();
        assert_eq!(check(&c, false, Some(&last), 1602), Ok(Verdict::Renew));
    }
}
