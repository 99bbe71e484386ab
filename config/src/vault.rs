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
    /// Cross-key rules: the warning comes before the deletion.
    pub(crate) fn problems(&self, out: &mut crate::error::Problems) {
        if self.inactive_account_days > 0
            && self.inactive_warning_days >= self.inactive_account_days
        {
            out.bad(
                "vault.inactive_warning_days",
                "is not shorter than vault.inactive_account_days (every account would be warned at once)",
                "use e.g. 30 with inactive_account_days = 1095",
            );
        }
    }

    /// The settings as `hub.toml` writes them, with their comments.
    pub fn template(&self) -> String {
        format!(
            r#"
# The digital vault. After a person deletes their account, their journal
# (who saw which document, when) is kept this many days, then purged.
# Accounts nobody signed in to for inactive_account_days are deleted
# (0: never), after a warning given inactive_warning_days before.
# (Dotted keys: the same as a [vault] table, and keys added after them
# stay at the top level.)
vault.journal_retention_days = {journal}
vault.inactive_account_days = {inactive}
vault.inactive_warning_days = {warning}
"#,
            journal = self.journal_retention_days,
            inactive = self.inactive_account_days,
            warning = self.inactive_warning_days,
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::{ConfigError, HubConfig};

    #[test]
    fn the_vault_table_reads_and_its_warning_comes_before_the_deletion() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        std::fs::write(
            &path,
            "[vault]\njournal_retention_days = 30\ninactive_account_days = 1095\n",
        )
        .unwrap();
        let c = HubConfig::load(&path).unwrap();
        assert_eq!(
            (
                c.vault.journal_retention_days,
                c.vault.inactive_account_days,
                c.vault.inactive_warning_days
            ),
            (30, 1095, 30)
        );
        std::fs::write(&path, "[vault]\ninactive_account_days = 20\n").unwrap();
        match HubConfig::load(&path).unwrap_err() {
            ConfigError::Invalid { problems, .. } => {
                assert_eq!(
                    problems[0].key.as_deref(),
                    Some("vault.inactive_warning_days")
                );
            }
            other => panic!("{other}"),
        }
        std::fs::write(&path, "[vault]\nkeep_forever = true\n").unwrap();
        assert!(HubConfig::load(&path).is_err());
    }
}
