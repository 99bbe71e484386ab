//! Who acts at the node: someone at its command line, an agent signed in
//! to its console, a business application with its API token, or a
//! dataset's watched folder. Every operation that changes data (an import, a
//! validation, a link, a deposit…) is told who acts, records it with what
//! it changed, and writes it in the audit chain.
//!
//! The actor travels as text (the `by` of admin requests and of the
//! records), `operator:<login>`, `agent:<login>`, `token:<name>` or
//! `folder:<dataset>`, so that records, requests and the audit chain keep
//! the form they always had: a plain name written before actors were typed
//! reads as an operator.

use passerelle_protocol::audit;

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// Someone at the node's command line: the operating-system user, or
    /// the name given with `--by`.
    System(String),
    /// An agent signed in to the console, by their login.
    Agent(String),
    /// A business application, by the name of its API token
    /// (`passerelle-node token add --name`).
    Token(String),
    /// A dataset's watched folder (`drop_folder`), by the dataset's name:
    /// whoever copied the file there is not known to the node.
    Folder(String),
}

impl Actor {
    /// Reads the text form. A plain name (written before actors were
    /// typed, or given by a caller that passes a name) is an operator.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        if let Some(login) = text.strip_prefix("agent:") {
            return Self::Agent(login.to_string());
        }
        if let Some(name) = text.strip_prefix("token:") {
            return Self::Token(name.to_string());
        }
        if let Some(dataset) = text.strip_prefix("folder:") {
            return Self::Folder(dataset.to_string());
        }
        Self::System(text.strip_prefix("operator:").unwrap_or(text).to_string())
    }

    /// Whoever runs a command: `--by`, else the operating-system user.
    pub fn command_line(by: Option<String>) -> Self {
        Self::System(
            by.or_else(|| std::env::var("USER").ok())
                .or_else(|| std::env::var("LOGNAME").ok())
                .unwrap_or_default()
                .trim()
                .to_string(),
        )
    }

    /// The login or name, without its kind.
    pub fn login(&self) -> &str {
        match self {
            Self::System(l) | Self::Agent(l) | Self::Token(l) | Self::Folder(l) => l,
        }
    }

    /// Whether it names nobody (an empty name).
    pub fn is_anonymous(&self) -> bool {
        self.login().trim().is_empty()
    }

    /// The actor as the audit chain names it: `operator:<name>` as ever,
    /// else its own text (`agent:<login>`, `token:<name>`,
    /// `folder:<dataset>`).
    pub fn audit(&self) -> audit::Actor {
        match self {
            Self::System(l) => audit::Actor::Operator(l.clone()),
            Self::Agent(_) | Self::Token(_) | Self::Folder(_) => {
                audit::Actor::Other(self.to_string())
            }
        }
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::System(l) => write!(f, "operator:{l}"),
            Self::Agent(l) => write!(f, "agent:{l}"),
            Self::Token(n) => write!(f, "token:{n}"),
            Self::Folder(d) => write!(f, "folder:{d}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_read_back_and_old_names_are_operators() {
        for a in [
            Actor::System("awa".into()),
            Actor::Agent("ana.b".into()),
            Actor::Token("logiciel-rsa".into()),
            Actor::Folder("personnes_recues".into()),
        ] {
            assert_eq!(Actor::parse(&a.to_string()), a);
            assert_eq!(a.audit().to_string(), a.to_string());
        }
        assert_eq!(
            Actor::parse("agent-import"),
            Actor::System("agent-import".into())
        );
        // A name given at the command line cannot pass for an agent.
        let typed = Actor::System("agent:ana".into());
        assert_eq!(typed.to_string(), "operator:agent:ana");
        assert_eq!(Actor::parse(&typed.to_string()), typed);
        let typed = Actor::System("token:x".into());
        assert_eq!(Actor::parse(&typed.to_string()), typed);
        assert!(Actor::parse("operator:").is_anonymous());
        assert_eq!(
            audit::Actor::parse(&Actor::Agent("ana".into()).to_string()),
            audit::Actor::Other("agent:ana".into())
        );
    }
}
