//! Validated identifiers.

use std::fmt;

/// A node identifier: 1 to 63 characters, lower-case ASCII letters, digits
/// and hyphens, starting with a letter or digit (for example `caf-976`).
/// It appears in certificates, file names and URLs, so it is kept plain.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct NodeId(String);

/// Why a text is not a valid node id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid node id {text:?}: {why} (use 1 to 63 lower-case letters, digits and '-', e.g. caf-976)")]
pub struct NodeIdError {
    text: String,
    why: &'static str,
}

impl NodeId {
    /// Checks and wraps a node id.
    ///
    /// # Errors
    /// When the text breaks the rules above.
    pub fn new(text: impl Into<String>) -> Result<Self, NodeIdError> {
        let text = text.into();
        let why = if text.is_empty() {
            Some("it is empty")
        } else if text.len() > 63 {
            Some("it is longer than 63 characters")
        } else if text.starts_with('-') {
            Some("it starts with '-'")
        } else if !text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            Some("it contains a character other than a-z, 0-9 and '-'")
        } else {
            None
        };
        match why {
            Some(why) => Err(NodeIdError { text, why }),
            None => Ok(Self(text)),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NodeId {
    type Error = NodeIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<NodeId> for String {
    fn from(id: NodeId) -> Self {
        id.0
    }
}

impl std::str::FromStr for NodeId {
    type Err = NodeIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::NodeId;

    #[test]
    fn accepts_plain_ids_and_refuses_others() {
        assert!(NodeId::new("caf-976").is_ok());
        assert!(NodeId::new("0").is_ok());
        for bad in [
            "",
            "-caf",
            "CAF",
            "caf 976",
            "caf/976",
            "é",
            &"a".repeat(64),
        ] {
            let err = NodeId::new(bad).unwrap_err().to_string();
            assert!(err.contains("invalid node id"), "{bad}: {err}");
        }
    }
}
