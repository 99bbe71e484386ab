//! When accounts need a second factor: `partner_totp` in `hub.toml`
//! (partner professionals), `console_totp` in `node.toml` (agents of the
//! node's console).

use serde::{Deserialize, Serialize};

/// Whether a second factor (an authenticator app's code) is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SecondFactor {
    /// Every account enrols and gives a code at each sign-in (the hub's
    /// default: any partner professional can be named in a consent, and
    /// so read vault documents).
    #[default]
    Required,
    /// Each account may enrol; the code is asked of those who did.
    Optional,
    /// No second factor is offered nor asked.
    Off,
}

impl SecondFactor {
    /// The value as written in the configuration file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Optional => "optional",
            Self::Off => "off",
        }
    }
}
