//! Partner professionals who sign in with an OpenID Connect provider
//! (ProConnect): the identity bound to an account, and the requests of
//! professionals the hub does not know yet.
//!
//! The operator still decides who is a partner. A professional's first
//! sign-in creates a [`Request`] (not an account), listed by `passerelle-hub
//! partner requests`; [`approve`] binds it to an institution (node),
//! creating the account when none exists for that e-mail, and the next
//! sign-in opens a session. An account is matched by the provider, the
//! e-mail and the organisation (SIRET) approved: the same e-mail under
//! another organisation is a new request.

use passerelle_protocol::{hex, ids::NodeId, sign::sha256, UnixTime};
use serde::{Deserialize, Serialize};

use crate::{
    ops::Hub,
    refusal::Refusal,
    store::{IdentitySpace, Keyspace},
    HubError,
};

use super::Account;

/// Requests waiting at most, all providers together.
pub const MAX_REQUESTS: usize = 500;

/// What an account created by approval has instead of a password hash:
/// no password opens it (`verify_password` refuses anything that is not a
/// PHC string).
pub const NO_PASSWORD: &str = "!oidc";

/// A professional's first sign-in, waiting for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Its id (16 hex digits, the same for the same provider, e-mail and
    /// organisation).
    pub id: String,
    /// The provider's name in `hub.toml`.
    pub provider: String,
    /// The provider's subject.
    pub subject: String,
    /// The e-mail claim.
    pub email: String,
    /// The name claims, if any.
    pub name: String,
    /// The organisation claim (SIRET).
    pub organisation: String,
    /// First sign-in.
    pub requested_at: UnixTime,
    /// Latest sign-in.
    pub last_seen: UnixTime,
}

/// The identity bound to a partner account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The account's e-mail.
    pub email: String,
    /// The organisation approved.
    pub organisation: String,
    /// The subject seen at the request.
    pub subject: String,
    /// The institution it was approved for.
    pub institution: NodeId,
    /// When the operator approved it.
    pub approved_at: UnixTime,
}

fn requests(hub: &Hub) -> Keyspace<Request> {
    hub.store.keyspace(IdentitySpace::PartnerRequests)
}

fn links(hub: &Hub) -> Keyspace<Link> {
    hub.store.keyspace(IdentitySpace::PartnerLinks)
}

fn link_key(provider: &str, email: &str) -> Vec<u8> {
    [provider.as_bytes(), b"\0", email.as_bytes()].concat()
}

/// The account a provider's identity opens: the one bound to this
/// provider and e-mail, for this organisation.
///
/// # Errors
/// On a store failure.
pub fn find_account(
    hub: &Hub,
    provider: &str,
    email: &str,
    organisation: &str,
) -> Result<Option<Account>, HubError> {
    let email = email.trim().to_lowercase();
    let Some(link) = links(hub).get(&link_key(provider, &email))? else {
        return Ok(None);
    };
    if link.organisation != organisation {
        return Ok(None);
    }
    Ok(hub
        .store
        .account(&email)?
        .filter(|a| a.institution == link.institution))
}

/// Records (or refreshes) the request of an unknown professional; its id.
///
/// # Errors
/// [`Refusal::TooManyPartnerRequests`] past [`MAX_REQUESTS`]; a store
/// failure.
pub fn request(
    hub: &Hub,
    provider: &str,
    subject: &str,
    email: &str,
    name: &str,
    organisation: &str,
    now: UnixTime,
) -> Result<String, HubError> {
    let email = email.trim().to_lowercase();
    let digest = sha256(format!("{provider}\0{email}\0{organisation}").as_bytes());
    let id = hex::encode(&digest[..8]);
    let space = requests(hub);
    let r = match space.get(id.as_bytes())? {
        Some(mut r) => {
            r.last_seen = now;
            r.subject = subject.to_string();
            r
        }
        None => {
            if space.iter()?.count() >= MAX_REQUESTS {
                return Err(Refusal::TooManyPartnerRequests { max: MAX_REQUESTS }.into());
            }
            Request {
                id: id.clone(),
                provider: provider.to_string(),
                subject: subject.to_string(),
                email,
                name: name.to_string(),
                organisation: organisation.to_string(),
                requested_at: now,
                last_seen: now,
            }
        }
    };
    space.insert(id.as_bytes(), &r)?;
    Ok(id)
}

/// Every request waiting, oldest first.
///
/// # Errors
/// On a store failure.
pub fn list(hub: &Hub) -> Result<Vec<Request>, HubError> {
    let mut out = requests(hub)
        .iter()?
        .map(|e| Ok(e?.value()?))
        .collect::<Result<Vec<_>, HubError>>()?;
    out.sort_by_key(|r| r.requested_at);
    Ok(out)
}

/// Approves a request for `institution`: binds the identity to the
/// account of that e-mail (created, without password, when there is
/// none), and removes the request. Returns the account's e-mail.
///
/// # Errors
/// An unknown request, an unknown or revoked institution, an account of
/// that e-mail at another institution, an institution at its maximum; a
/// store failure.
pub fn approve(
    hub: &Hub,
    id: &str,
    institution: &NodeId,
    now: UnixTime,
) -> Result<String, HubError> {
    let space = requests(hub);
    let Some(r) = space.get(id.as_bytes())? else {
        return Err(Refusal::UnknownPartnerRequest { id: id.to_string() }.into());
    };
    match hub.store.node(institution)? {
        Some(n) if n.revoked_at.is_none() => {}
        _ => {
            return Err(Refusal::UnknownNode {
                node: institution.clone(),
            }
            .into())
        }
    }
    match hub.store.account(&r.email)? {
        Some(a) if &a.institution != institution => {
            return Err(Refusal::AccountExists { email: r.email }.into());
        }
        Some(_) => {}
        None => {
            let accounts = hub.store.accounts()?;
            let max = hub.config.partner_accounts_per_institution;
            if accounts
                .iter()
                .filter(|a| &a.institution == institution)
                .count()
                >= max
            {
                return Err(Refusal::TooManyAccounts {
                    institution: institution.clone(),
                    max,
                }
                .into());
            }
            let name = if r.name.trim().is_empty() {
                r.email.clone()
            } else {
                r.name.clone()
            };
            hub.store.put_account(&Account {
                email: r.email.clone(),
                name,
                institution: institution.clone(),
                password_hash: NO_PASSWORD.into(),
                created_at: now,
                must_change_password: false,
                totp_secret: None,
                totp_enabled: false,
                totp_last_step: 0,
            })?;
        }
    }
    links(hub).insert(
        &link_key(&r.provider, &r.email),
        &Link {
            email: r.email.clone(),
            organisation: r.organisation.clone(),
            subject: r.subject.clone(),
            institution: institution.clone(),
            approved_at: now,
        },
    )?;
    space.remove(id.as_bytes())?;
    tracing::info!(account = %r.email, provider = %r.provider, %institution, "partner request approved");
    Ok(r.email)
}

/// Forgets every provider identity bound to an account (when it is
/// removed): a new account of that e-mail is approved afresh.
///
/// # Errors
/// On a store failure.
pub fn forget(hub: &Hub, email: &str) -> Result<(), HubError> {
    let email = email.trim().to_lowercase();
    let space = links(hub);
    let keys: Vec<Vec<u8>> = space
        .iter()?
        .filter_map(|e| e.ok())
        .filter(|e| e.value().is_ok_and(|l| l.email == email))
        .map(|e| e.key().to_vec())
        .collect();
    for k in keys {
        space.remove(&k)?;
    }
    Ok(())
}

/// Refuses (removes) a request.
///
/// # Errors
/// An unknown request; a store failure.
pub fn refuse(hub: &Hub, id: &str) -> Result<(), HubError> {
    match requests(hub).remove(id.as_bytes())? {
        Some(r) => {
            tracing::info!(account = %r.email, provider = %r.provider, "partner request refused");
            Ok(())
        }
        None => Err(Refusal::UnknownPartnerRequest { id: id.to_string() }.into()),
    }
}
