//! Configuration errors that a busy administrator can act on.

use std::{
    fmt,
    path::{Path, PathBuf},
};

/// One thing wrong with a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Line number (1-based), when known.
    pub line: Option<usize>,
    /// The key concerned, when known.
    pub key: Option<String>,
    /// What is wrong.
    pub why: String,
    /// How to fix it, when obvious.
    pub fix: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        f.write_str(&self.why)?;
        if let Some(fix) = &self.fix {
            write!(f, " (fix: {fix})")?;
        }
        Ok(())
    }
}

/// The problems a `problems()` pass finds, in the order found.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    /// Records a problem of `key` (its line is found later, from the key).
    pub(crate) fn bad(&mut self, key: impl Into<String>, why: impl Into<String>, fix: &str) {
        self.0.push(Problem {
            line: None,
            key: Some(key.into()),
            why: why.into(),
            fix: Some(fix.into()),
        });
    }

    /// Every problem recorded.
    pub(crate) fn into_vec(self) -> Vec<Problem> {
        self.0
    }
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}", path = .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file was read but holds problems; all of them are listed.
    #[error("{path}: {}", render(.problems), path = .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

fn render(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => many.iter().map(|p| format!("\n  - {p}")).collect(),
    }
}

impl ConfigError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn invalid(path: &Path, problems: Vec<Problem>) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            problems,
        }
    }

    pub(crate) fn from_toml(path: &Path, text: &str, err: &toml::de::Error) -> Self {
        let line = err
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let message = err.message().trim().to_string();
        // The key: named by serde for unknown or missing fields, otherwise
        // the left-hand side of the line the error points at.
        let key = between_backticks(&message)
            .filter(|_| {
                message.starts_with("unknown field") || message.starts_with("missing field")
            })
            .or_else(|| {
                let line_text = text.lines().nth(line? - 1)?;
                let (lhs, _) = line_text.split_once('=')?;
                Some(lhs.trim().to_string())
            });
        let fix = if message.starts_with("unknown field") {
            Some("remove the key or correct its spelling; see the example config for every valid key".into())
        } else {
            None
        };
        Self::invalid(
            path,
            vec![Problem {
                line,
                key,
                why: message,
                fix,
            }],
        )
    }
}

fn between_backticks(s: &str) -> Option<String> {
    let start = s.find('`')? + 1;
    let end = start + s[start..].find('`')?;
    Some(s[start..end].to_string())
}
