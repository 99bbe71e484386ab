//! Tokens of the integration API. The node administrator makes one with
//! `passerelle-node token add --name N --scope dataset:NAME|deposit`; the
//! token is printed once and only its SHA-256 is kept, in `api-tokens.json`
//! in the node folder (owner-only, written whole or not at all). A token is
//! 256 random bits, so a plain SHA-256 is enough: nothing can be guessed
//! from the hash, and the file gives no one the token back.
//!
//! The running node reads the file at each request (it is small and
//! bounded), so a token added or removed takes effect at once, with or
//! without a restart.

use std::path::{Path, PathBuf};

use passerelle_protocol::{audit::Action, hex, UnixTime};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::{actor::Actor, store::Store, NodeError};

/// The tokens file in a node folder.
pub const FILE: &str = "api-tokens.json";
/// At most this many tokens per node.
pub const MAX_TOKENS: usize = 200;
/// Every token starts with this, so a leaked one is recognisable.
pub const PREFIX: &str = "pnt_";
/// The tokens file is never read beyond this size.
const MAX_FILE: u64 = 256 * 1024;

/// What a token may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Push files of one dataset.
    Dataset(String),
    /// Deposit documents for linked persons.
    Deposit,
}

impl Scope {
    /// Reads `dataset:NAME` or `deposit`.
    ///
    /// # Errors
    /// Any other text.
    pub fn parse(text: &str) -> Result<Self, NodeError> {
        match text.strip_prefix("dataset:") {
            Some(name) if !name.is_empty() => Ok(Self::Dataset(name.to_string())),
            _ if text == "deposit" => Ok(Self::Deposit),
            _ => Err(NodeError::Refused(format!(
                "scope {text:?}: give dataset:NAME (push files of one dataset) or deposit (documents for linked persons)"
            ))),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dataset(name) => write!(f, "dataset:{name}"),
            Self::Deposit => f.write_str("deposit"),
        }
    }
}

/// A token as kept: its name, scope and hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRecord {
    /// Name given by the administrator (who uses it: `logiciel-rsa`).
    pub name: String,
    /// What it may do.
    pub scope: Scope,
    /// SHA-256 of the token, hex.
    pub sha256: String,
    /// When it was made.
    pub created_at: UnixTime,
}

fn path(root: &Path) -> PathBuf {
    root.join(FILE)
}

fn digest(token: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The tokens of the node folder `root` (none when the file is absent).
///
/// # Errors
/// An unreadable, oversized or damaged file.
pub fn list(root: &Path) -> Result<Vec<TokenRecord>, NodeError> {
    let file = path(root);
    let bytes = match std::fs::metadata(&file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(NodeError::Io { path: file, source }),
        Ok(m) if m.len() > MAX_FILE => {
            return Err(NodeError::Refused(format!(
                "{}: over {MAX_FILE} bytes; remove tokens with passerelle-node token remove",
                file.display()
            )))
        }
        Ok(_) => std::fs::read(&file).map_err(crate::error::io(&file))?,
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        NodeError::Refused(format!(
            "{}: not a tokens file ({e}); restore it from a backup or remove it and make the tokens again",
            file.display()
        ))
    })
}

fn save(root: &Path, tokens: &[TokenRecord]) -> Result<(), NodeError> {
    let bytes = serde_json::to_vec_pretty(tokens)
        .map_err(|e| NodeError::Refused(format!("tokens do not serialise: {e}")))?;
    passerelle_certs::files::write_atomic(&path(root), &bytes, 0o600)?;
    Ok(())
}

/// Makes a token: the record kept, and the token itself, to show once.
///
/// # Errors
/// A bad or taken name, too many tokens, or the file cannot be written.
pub fn add(
    root: &Path,
    name: &str,
    scope: Scope,
    now: UnixTime,
) -> Result<(TokenRecord, String), NodeError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(NodeError::Refused(format!(
            "--name {name:?}: 1 to 64 letters, digits, '-', '_' or '.' (e.g. logiciel-rsa)"
        )));
    }
    let mut tokens = list(root)?;
    if tokens.iter().any(|t| t.name == name) {
        return Err(NodeError::Refused(format!(
            "a token named {name} exists; remove it first (passerelle-node token remove --name {name}) or choose another name"
        )));
    }
    if tokens.len() >= MAX_TOKENS {
        return Err(NodeError::Refused(format!(
            "{MAX_TOKENS} tokens already; remove unused ones first"
        )));
    }
    let mut secret = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
        .map_err(|_| NodeError::Refused("the system's random source failed".into()))?;
    let token = format!("{PREFIX}{}", hex::encode(&secret));
    let record = TokenRecord {
        name: name.to_string(),
        scope,
        sha256: hex::encode(&digest(&token)),
        created_at: now,
    };
    tokens.push(record.clone());
    save(root, &tokens)?;
    Ok((record, token))
}

/// Removes the token named `name`.
///
/// # Errors
/// No such token, or the file cannot be written.
pub fn remove(root: &Path, name: &str) -> Result<TokenRecord, NodeError> {
    let mut tokens = list(root)?;
    let at = tokens.iter().position(|t| t.name == name).ok_or_else(|| {
        NodeError::Refused(format!(
            "no token named {name} (see passerelle-node token list)"
        ))
    })?;
    let gone = tokens.remove(at);
    save(root, &tokens)?;
    Ok(gone)
}

/// Makes a token for `by`, its dataset declared in `config`, and writes
/// it in the node's audit chain (`token_add`, naming who made it; never
/// the token): the record kept, and the token, to show once.
///
/// # Errors
/// A bad scope, an undeclared dataset, what [`add`] refuses; a store
/// failure (the token is then made but not recorded).
pub fn add_recorded(
    config: &passerelle_config::NodeConfig,
    store: &Store,
    root: &Path,
    name: &str,
    scope: &str,
    by: &str,
    now: UnixTime,
) -> Result<(TokenRecord, String), NodeError> {
    let scope = Scope::parse(scope)?;
    if let Scope::Dataset(d) = &scope {
        if !config.datasets.iter().any(|x| &x.name == d) {
            return Err(NodeError::Refused(format!(
                "unknown dataset {d:?}: declare it under [[datasets]] in node.toml first"
            )));
        }
    }
    let (record, token) = add(root, name, scope, now)?;
    store.record(
        now,
        &Actor::parse(by),
        Action::TokenAdd,
        &record.name,
        &record.scope.to_string(),
    )?;
    Ok((record, token))
}

/// Removes the token named `name` for `by`, and writes it in the node's
/// audit chain (`token_remove`).
///
/// # Errors
/// What [`remove`] refuses; a store failure (the token is then removed
/// but not recorded).
pub fn remove_recorded(
    store: &Store,
    root: &Path,
    name: &str,
    by: &str,
    now: UnixTime,
) -> Result<TokenRecord, NodeError> {
    let gone = remove(root, name)?;
    store.record(
        now,
        &Actor::parse(by),
        Action::TokenRemove,
        &gone.name,
        &gone.scope.to_string(),
    )?;
    Ok(gone)
}

/// The token `presented` stands for, if any: its hash is compared with
/// every kept hash in constant time.
pub fn find(tokens: &[TokenRecord], presented: &str) -> Option<TokenRecord> {
    let wanted = hex::encode(&digest(presented));
    let mut found = None;
    for t in tokens {
        if bool::from(t.sha256.as_bytes().ct_eq(wanted.as_bytes())) {
            found = Some(t.clone());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_kept_only_as_its_hash_and_found_by_it() {
        let dir = tempfile::tempdir().unwrap();
        let (record, token) = add(dir.path(), "erp", Scope::Deposit, 1).unwrap();
        assert!(token.starts_with(PREFIX) && token.len() == PREFIX.len() + 64);
        let file = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(
            !file.contains(&token[PREFIX.len()..]),
            "token stored in clear"
        );
        assert!(file.contains(&record.sha256));
        let kept = list(dir.path()).unwrap();
        assert_eq!(find(&kept, &token), Some(record));
        assert_eq!(find(&kept, &format!("{token}x")), None);
        assert_eq!(find(&kept, ""), None);
        assert!(add(dir.path(), "erp", Scope::Deposit, 2).is_err());
        assert!(add(dir.path(), "a b", Scope::Deposit, 2).is_err());
        remove(dir.path(), "erp").unwrap();
        assert_eq!(find(&list(dir.path()).unwrap(), &token), None);
    }

    #[test]
    fn scopes_read_back() {
        assert_eq!(Scope::parse("deposit").unwrap(), Scope::Deposit);
        let d = Scope::parse("dataset:rsa").unwrap();
        assert_eq!(d.to_string(), "dataset:rsa");
        assert!(Scope::parse("dataset:").is_err());
        assert!(Scope::parse("admin").is_err());
    }
}
