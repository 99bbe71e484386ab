//! Who acts at the node: someone at its command line, or an agent signed
//! in to its console. Every operation that changes data (an import, a
//! validation, a link, a deposit…) is told who acts, records it with what
//! it changed, and writes it in the audit chain.
//!
//! The actor travels as text (the `by` of admin requests and of the
//! records), `operator:<login>` or `agent:<login>`, so that records,
//! requests and the audit chain keep the form they always had: a plain
//! name written before actors were typed reads as an operator. Other ways
//! in add their own prefix.

use passerelle_protocol::audit;

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// Someone at the node's command line: the operating-system user, or
    /// the name given with `--by`.
    System(String),
    /// An agent signed in to the console, by their login.
    Agent(String),
}

impl Actor {
    /// Reads the text form. A plain name (written before actors were
    /// typed, or given by a caller that passes a name) is an operator.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        if let Some(login) = text.strip_prefix("agent:") {
            return Self::Agent(login.to_string());
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
            Self::System(l) | Self::Agent(l) => l,
        }
    }

    /// Whether it names nobody (an empty name).
    pub fn is_anonymous(&self) -> bool {
        self.login().trim().is_empty()
    }

    /// The actor as the audit chain names it: `operator:<name>` as ever,
    /// `agent:<login>`.
    pub fn audit(&self) -> audit::Actor {
        match self {
            Self::System(l) => audit::Actor::Operator(l.clone()),
            Self::Agent(_) => audit::Actor::Other(self.to_string()),
        }
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::System(l) => write!(f, "operator:{l}"),
            Self::Agent(l) => write!(f, "agent:{l}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_read_back_and_old_names_are_operators() {
        for a in [Actor::System("awa".into()), Actor::Agent("ana.b".into())] {
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
        assert!(Actor::parse("operator:").is_anonymous());
        assert_eq!(
            audit::Actor::parse(&Actor::Agent("ana".into()).to_string()),
            audit::Actor::Other("agent:ana".into())
        );
    }
}
