//! The vault's errors: a typed [`Refusal`] for what a person or a
//! professional asked that the vault will not do, and the hub's errors
//! for everything else. The portal turns refusals into French.

use passerelle_hub_core::HubError;

/// Why the vault refused a request. Each variant names the rule broken;
/// the web layer chooses the words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A consent must end after today.
    #[error("the consent's end is not in the future")]
    ConsentEndsInPast,
    /// A consent lasts at most this many days.
    #[error("a consent lasts at most {max_days} days")]
    ConsentTooLong {
        /// The longest allowed.
        max_days: u64,
    },
    /// A consent names no document and no kind of document.
    #[error("the consent names no document")]
    ConsentWithoutScope,
    /// A consent does not say what it is for.
    #[error("the consent does not name its procedure")]
    ConsentWithoutProcedure,
    /// No such consent for this person.
    #[error("no such consent")]
    UnknownConsent,
    /// The reset code is wrong, expired, used, or not this person's.
    #[error("the reset code is not valid")]
    BadResetCode,
    /// The rescue code does not unwrap the person's key. The reset code
    /// stays usable for `attempts_left` more tries (none: it has expired).
    #[error("the rescue code is not the right one ({attempts_left} attempts left)")]
    BadRescueCode {
        /// Tries left with the same reset code.
        attempts_left: u32,
    },
    /// The link code has expired.
    #[error("this link code has expired; ask the person to show a new one")]
    LinkCodeExpired,
    /// The link code is unknown or already used.
    #[error("unknown or already used link code; check it with the person")]
    UnknownLinkCode,
    /// The login already has an account.
    #[error("login already used")]
    LoginTaken,
    /// The person's uploads would exceed their quota.
    #[error("the vault is full ({max_bytes} bytes, {max_files} files at most)")]
    QuotaFull {
        /// The room in bytes.
        max_bytes: u64,
        /// The number of files.
        max_files: u64,
        /// Whether the account is linked to an institution (an account
        /// that is not has a smaller quota).
        linked: bool,
    },
    /// A consent's scope lists more documents or kinds than allowed.
    #[error("a consent covers at most {max} documents or kinds of document")]
    ScopeTooLarge {
        /// The most allowed.
        max: usize,
    },
    /// The person has as many consents in force as allowed.
    #[error("at most {max} consents in force per person")]
    TooManyConsents {
        /// The most allowed.
        max: usize,
    },
    /// The person's own uploads are shared with one professional, not a
    /// whole institution (each upload key is sealed to one person's key).
    #[error("uploads are shared with one professional, not an institution")]
    ShareNeedsProfessional,
    /// The professional has not signed in since shared uploads began, so
    /// they have no key to seal the uploads to yet.
    #[error("the professional has no key yet (they must sign in once)")]
    GranteeWithoutKey,
    /// The password typed to confirm is not the account's.
    #[error("wrong password")]
    WrongPassword,
    /// The person is not linked to that institution.
    #[error("not linked to that institution")]
    NotLinked,
    /// The person has as many link codes waiting as allowed.
    #[error("at most {max} link codes waiting per person")]
    TooManyLinkCodes {
        /// The most allowed.
        max: usize,
    },
}

/// Everything a vault operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The request breaks a vault rule.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// An upload's sealed file does not open (wrong key, or damaged).
    #[error("upload {upload}: sealed file does not open ({why})")]
    Sealed {
        /// The upload id.
        upload: String,
        /// What the sealing layer said.
        why: String,
    },
    /// Deriving a key from a password failed.
    #[error("key derivation failed: {0}")]
    KeyDerivation(String),
    /// The hub's store, files or links failed.
    #[error(transparent)]
    Hub(#[from] HubError),
}

impl From<passerelle_hub_core::store::StoreError> for VaultError {
    fn from(e: passerelle_hub_core::store::StoreError) -> Self {
        Self::Hub(e.into())
    }
}

impl From<passerelle_link::disk::DiskError> for VaultError {
    fn from(e: passerelle_link::disk::DiskError) -> Self {
        Self::Hub(e.into())
    }
}

impl From<passerelle_certs::CertError> for VaultError {
    fn from(e: passerelle_certs::CertError) -> Self {
        Self::Hub(e.into())
    }
}

impl From<passerelle_protocol::codec::CodecError> for VaultError {
    fn from(e: passerelle_protocol::codec::CodecError) -> Self {
        Self::Hub(e.into())
    }
}
