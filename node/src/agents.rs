//! The console's agent accounts, created at the node by its operator
//! (`passerelle-node agent add --login … --name … --role …`): social
//! workers, reception agents and data officers, each with the roles they
//! need ([`Role`]). A new account gets a first password, printed once,
//! that the agent changes at their first sign-in. Passwords are argon2id
//! hashes; the second factor is optional unless `console.totp` requires
//! it. Adding, resetting and removing an account are written in the audit
//! chain with the operator who did it.

use passerelle_protocol::{audit::Action, UnixTime};
use passerelle_web::session::Sessions;
use serde::{Deserialize, Serialize};

pub use crate::store::agents::{Agent, AgentSession, AgentSessions, Role};
use crate::{actor::Actor, refusal::Refusal, store::Store, NodeError};

/// An account as listings show it (never its hash nor its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSummary {
    /// Login.
    pub login: String,
    /// Name.
    pub name: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// When it was created.
    pub created_at: UnixTime,
    /// By whom.
    pub created_by: String,
    /// The first password is still to change.
    pub must_change_password: bool,
    /// A second factor is enrolled.
    pub totp_enabled: bool,
}

impl From<&Agent> for AgentSummary {
    fn from(a: &Agent) -> Self {
        Self {
            login: a.login.clone(),
            name: a.name.clone(),
            roles: a.roles.clone(),
            created_at: a.created_at,
            created_by: a.created_by.clone(),
            must_change_password: a.must_change_password,
            totp_enabled: a.totp_enabled,
        }
    }
}

/// A login as typed, checked and lower-cased.
///
/// # Errors
/// [`Refusal::BadLogin`] outside 2 to 64 letters, digits, `.`, `-`, `_`.
pub fn check_login(login: &str) -> Result<String, NodeError> {
    let l = login.trim().to_lowercase();
    let ok = (2..=64).contains(&l.len())
        && l.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(l)
    } else {
        Err(Refusal::BadLogin(login.to_string()).into())
    }
}

fn roles(codes: &[String]) -> Result<Vec<Role>, NodeError> {
    let mut out = Vec::new();
    for c in codes.iter().flat_map(|c| c.split(',')) {
        let r = Role::parse(c).ok_or_else(|| Refusal::UnknownRole(c.trim().to_string()))?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    if out.is_empty() {
        return Err(Refusal::NoRole.into());
    }
    out.sort();
    Ok(out)
}

fn codes(roles: &[Role]) -> String {
    roles.iter().map(|r| r.code()).collect::<Vec<_>>().join(",")
}

/// Creates an account; returns its first password (to hand to the agent,
/// who changes it at their first sign-in).
///
/// # Errors
/// A malformed login, an empty name, no or an unknown role, a login
/// taken; a store failure.
pub fn add(
    store: &Store,
    login: &str,
    name: &str,
    role_codes: &[String],
    by: &str,
    now: UnixTime,
) -> Result<String, NodeError> {
    let login = check_login(login)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Refusal::EmptyName.into());
    }
    let roles = roles(role_codes)?;
    if store.agent(&login)?.is_some() {
        return Err(Refusal::AgentExists(login).into());
    }
    let by = Actor::parse(by);
    let password = passerelle_web::password::generate_password();
    let hash = passerelle_web::password::hash_password(&password)
        .map_err(|e| NodeError::Refused(e.to_string()))?;
    let agent = Agent {
        login: login.clone(),
        name: name.to_string(),
        roles,
        password_hash: hash,
        created_at: now,
        created_by: by.to_string(),
        must_change_password: true,
        totp_secret: None,
        totp_enabled: false,
        totp_last_step: 0,
    };
    store.put_agent(&agent)?;
    store.record(now, &by, Action::AgentAdd, &login, &codes(&agent.roles))?;
    Ok(password)
}

/// Every account.
///
/// # Errors
/// On a store failure.
pub fn list(store: &Store) -> Result<Vec<AgentSummary>, NodeError> {
    Ok(store.agents()?.iter().map(AgentSummary::from).collect())
}

/// Removes an account and ends its sessions.
///
/// # Errors
/// An unknown login; a store failure.
pub fn remove(store: &Store, login: &str, by: &str, now: UnixTime) -> Result<(), NodeError> {
    let login = check_login(login)?;
    if !store.remove_agent(&login)? {
        return Err(Refusal::UnknownAgent(login).into());
    }
    Sessions::new(store.agent_sessions()).close_all(&login)?;
    store
        .record(now, &Actor::parse(by), Action::AgentRemove, &login, "")
        .map(drop)
}

/// Gives an account a new first password (returned, to change at the
/// next sign-in), forgets its second factor and ends its sessions: for a
/// forgotten password or a lost phone.
///
/// # Errors
/// An unknown login; a store failure.
pub fn reset(store: &Store, login: &str, by: &str, now: UnixTime) -> Result<String, NodeError> {
    let login = check_login(login)?;
    let mut agent = store
        .agent(&login)?
        .ok_or_else(|| Refusal::UnknownAgent(login.clone()))?;
    let password = passerelle_web::password::generate_password();
    agent.password_hash = passerelle_web::password::hash_password(&password)
        .map_err(|e| NodeError::Refused(e.to_string()))?;
    agent.must_change_password = true;
    agent.totp_secret = None;
    agent.totp_enabled = false;
    store.put_agent(&agent)?;
    Sessions::new(store.agent_sessions()).close_all(&login)?;
    store
        .record(now, &Actor::parse(by), Action::AgentReset, &login, "")
        .map(drop)?;
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_added_listed_reset_and_removed_and_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let by = "operator:root";
        let roles = vec!["data,counter".to_string()];
        let first = add(&store, "Ana.B", "Ana B", &roles, by, 10).unwrap();
        let ana = store.agent("ana.b").unwrap().unwrap();
        assert!(passerelle_web::password::verify_password(
            &first,
            &ana.password_hash
        ));
        assert_eq!(ana.roles, vec![Role::Data, Role::Counter]);
        assert!(ana.must_change_password);
        assert!(matches!(
            add(&store, "ana.b", "Ana", &roles, by, 11),
            Err(NodeError::Rule(Refusal::AgentExists(_)))
        ));
        for (login, name, r) in [
            ("a", "A", "data"),
            ("bob", "", "data"),
            ("bob", "Bob", "chef"),
            ("bob", "Bob", ""),
        ] {
            assert!(
                add(&store, login, name, &[r.to_string()], by, 12).is_err(),
                "{login} {r}"
            );
        }
        let sessions = Sessions::new(store.agent_sessions());
        let open = AgentSession {
            login: "ana.b".into(),
            csrf: "x".into(),
            expires_at: 1000,
            step: passerelle_web::signin::Step::Ready,
        };
        let token = sessions.open(&open, 20).unwrap();
        let second = reset(&store, "ana.b", by, 30).unwrap();
        assert_ne!(first, second);
        assert!(
            sessions.get(&token, 31).unwrap().is_none(),
            "sessions end at a reset"
        );
        assert_eq!(list(&store).unwrap()[0].login, "ana.b");
        remove(&store, "ana.b", by, 40).unwrap();
        assert!(list(&store).unwrap().is_empty());
        assert!(remove(&store, "ana.b", by, 41).is_err());
        let (records, _) = store.journal(&Default::default(), 0, 10).unwrap();
        let actions: Vec<&str> = records.iter().map(|r| r.event.action.as_str()).collect();
        assert_eq!(actions, ["agent_remove", "agent_reset", "agent_add"]);
        assert!(records
            .iter()
            .all(|r| r.event.actor.to_string() == "operator:root"));
    }
}
