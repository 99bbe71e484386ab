//! The `[vault]` table of `hub.toml`: how long the vault keeps what the
//! law asks it to keep once a person leaves, and inactive accounts.

use serde::{Deserialize, Serialize};

/// Retention settings of the digital vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VaultSettings {
    /// Days a deleted account's journal (who saw what) is kept before it
    /// is purged; the hub's audit chain itself is never cut.
    pub journal_retention_days: u64,
    /// Days without a sign-in after which an account is deleted; `0`
    /// never deletes.
    pub inactive_account_days: u64,
    /// Days between the warning and the deletion of an inactive account.
    pub inactive_warning_days: u64,
}

impl Default for VaultSettings {
    fn default() -> Self {
        Self {
            journal_retention_days: 365,
            inactive_account_days: 0,
            inactive_warning_days: 30,
        }
    }
}

impl VaultSettings {
    /// The table as `hub.toml` writes it, with its comments.
    pub fn template(&self) -> String {
        format!(
            r#"
# The digital vault. After a person deletes their account, their journal
# (who saw which document, when) is kept this many days, then purged.
# Accounts nobody signed in to for inactive_account_days are deleted
# (0: never), after a warning given inactive_warning_days before.
[vault]
journal_retention_days = {journal}
inactive_account_days = {inactive}
inactive_warning_days = {warning}
"#,
            journal = self.journal_retention_days,
            inactive = self.inactive_account_days,
            warning = self.inactive_warning_days,
        )
    }
}
