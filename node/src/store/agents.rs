//! The console's agent accounts and their sessions, in the node's store
//! (a node restart keeps agents signed in; the store keeps only the
//! SHA-256 of each session's cookie token).

use passerelle_protocol::{codec, UnixTime};
use passerelle_web::{session::Backend, signin::Step};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::NodeError;

const AGENTS: &str = "agents";
const SESSIONS: &str = "agent_sessions";

/// What an agent may do in the console. An agent has one role or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Imports data files (a data officer).
    Data,
    /// Validates or rejects the batches others imported; withdraws a
    /// batch in force.
    Validator,
    /// At the counter: links people to their vault, deposits, lists and
    /// removes their documents, sees their consents.
    Counter,
    /// Reads the journal and the list of agents.
    Admin,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 4] = [Role::Data, Role::Validator, Role::Counter, Role::Admin];

    /// The code used on the command line.
    pub fn code(self) -> &'static str {
        match self {
            Self::Data => "data",
            Self::Validator => "validator",
            Self::Counter => "counter",
            Self::Admin => "admin",
        }
    }

    /// The role of a code.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code.trim())
    }

    /// Its name in the console.
    pub fn label(self) -> &'static str {
        match self {
            Self::Data => "Import des données",
            Self::Validator => "Validation des lots",
            Self::Counter => "Guichet",
            Self::Admin => "Administration",
        }
    }
}

/// An agent's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Login, lower-case.
    pub login: String,
    /// Name shown in the console.
    pub name: String,
    /// What the agent may do.
    pub roles: Vec<Role>,
    /// argon2id hash, PHC string.
    pub password_hash: String,
    /// When the account was created.
    pub created_at: UnixTime,
    /// Who created it (an actor's text form).
    pub created_by: String,
    /// The password is a first one, printed once: to change before
    /// anything else.
    pub must_change_password: bool,
    /// The second factor's secret, once enrolment started.
    pub totp_secret: Option<Vec<u8>>,
    /// Enrolment confirmed by a first code: a code is asked at sign-in.
    pub totp_enabled: bool,
    /// The last code step used (a code of it or before is refused).
    pub totp_last_step: u64,
}

impl Agent {
    /// Whether the agent has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

impl passerelle_web::signin::Credentials for Agent {
    fn totp_enabled(&self) -> bool {
        self.totp_enabled
    }
    fn must_change_password(&self) -> bool {
        self.must_change_password
    }
}

/// A signed-in agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSession {
    /// The agent's login.
    pub login: String,
    /// The token every form of this session carries.
    pub csrf: String,
    /// End of validity.
    pub expires_at: UnixTime,
    /// What is left to do before the console opens.
    pub step: Step,
}

impl passerelle_web::session::Entry for AgentSession {
    fn expires_at(&self) -> UnixTime {
        self.expires_at
    }
    fn account(&self) -> &str {
        &self.login
    }
}

impl Store {
    /// An agent's account.
    ///
    /// # Errors
    /// On a store failure.
    pub fn agent(&self, login: &str) -> Result<Option<Agent>, NodeError> {
        Ok(self
            .db()?
            .open_tree(AGENTS)?
            .get(login.as_bytes())?
            .map(|v| codec::decode(&v))
            .transpose()?)
    }

    /// Every agent, by login.
    ///
    /// # Errors
    /// On a store failure.
    pub fn agents(&self) -> Result<Vec<Agent>, NodeError> {
        self.db()?
            .open_tree(AGENTS)?
            .iter()
            .map(|kv| Ok(codec::decode(&kv?.1)?))
            .collect()
    }

    /// Writes an agent's account.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_agent(&self, agent: &Agent) -> Result<(), NodeError> {
        self.noted((|| {
            let _w = self.writing()?;
            self.db()?
                .open_tree(AGENTS)?
                .insert(agent.login.as_bytes(), codec::encode(agent)?)?;
            self.handle.flush()?;
            Ok(())
        })())
    }

    /// Removes an agent's account; whether there was one.
    ///
    /// # Errors
    /// On a store failure.
    pub fn remove_agent(&self, login: &str) -> Result<bool, NodeError> {
        let _w = self.writing()?;
        let was = self.db()?.open_tree(AGENTS)?.remove(login.as_bytes())?;
        self.handle.flush()?;
        Ok(was.is_some())
    }

    /// The agents' sessions, kept in this store.
    pub fn agent_sessions(&self) -> AgentSessions {
        AgentSessions(self.clone())
    }
}

/// The agents' sessions in the store, for [`passerelle_web::session`].
#[derive(Debug, Clone)]
pub struct AgentSessions(Store);

impl AgentSessions {
    /// Ends every session of `login` but the one kept under `keep` (after
    /// a password change).
    ///
    /// # Errors
    /// On a store failure.
    pub fn retain_others(&self, login: &str, keep: [u8; 32]) -> Result<(), NodeError> {
        let _w = self.0.writing()?;
        let tree = self.0.db()?.open_tree(SESSIONS)?;
        let mut gone = Vec::new();
        for kv in tree.iter() {
            let (k, v) = kv?;
            let theirs = codec::decode::<AgentSession>(&v).is_ok_and(|s| s.login == login);
            if theirs && k.as_ref() != keep {
                gone.push(k);
            }
        }
        for k in gone {
            tree.remove(k)?;
        }
        Ok(())
    }
}

impl Backend<AgentSession> for AgentSessions {
    type Error = NodeError;

    fn put(&self, key: [u8; 32], session: &AgentSession) -> Result<(), NodeError> {
        let s = &self.0;
        s.noted((|| {
            let _w = s.writing()?;
            s.db()?
                .open_tree(SESSIONS)?
                .insert(key, codec::encode(session)?)?;
            s.handle.flush()?;
            Ok(())
        })())
    }

    fn get(&self, key: &[u8; 32]) -> Result<Option<AgentSession>, NodeError> {
        Ok(self
            .0
            .db()?
            .open_tree(SESSIONS)?
            .get(key)?
            .map(|v| codec::decode(&v))
            .transpose()?)
    }

    fn remove(&self, key: &[u8; 32]) -> Result<(), NodeError> {
        let _w = self.0.writing()?;
        self.0.db()?.open_tree(SESSIONS)?.remove(key)?;
        self.0.handle.flush()?;
        Ok(())
    }

    fn retain(&self, keep: &mut dyn FnMut(&AgentSession) -> bool) -> Result<(), NodeError> {
        let _w = self.0.writing()?;
        let tree = self.0.db()?.open_tree(SESSIONS)?;
        let mut gone = Vec::new();
        for kv in tree.iter() {
            let (k, v) = kv?;
            // A session that does not decode is dropped too.
            if !codec::decode::<AgentSession>(&v).is_ok_and(|s| keep(&s)) {
                gone.push(k);
            }
        }
        for k in gone {
            tree.remove(k)?;
        }
        Ok(())
    }
}
