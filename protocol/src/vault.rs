//! The digital vault's wire types and its pure checks: document categories
//! and procedures, what a node lists, who asks, and consent capabilities.
//!
//! A **consent capability** is the hub's signed statement that a person
//! lets a grantee (an institution, or one professional of it) see some of
//! the documents one node holds about them, for a procedure, until a date.
//! The holding node checks it itself with [`check_consent`] before it lists
//! or streams anything: signature under the hub's certified key, holder,
//! person, grantee, scope, validity, and the revocations the hub sent.

use serde::{Deserialize, Serialize};

use crate::{
    codec, hex,
    ids::NodeId,
    sign::{PublicKey, SigningKey},
    UnixTime,
};

/// Document categories shared by every node and the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Category {
    /// Identity papers.
    Identity,
    /// Proof of address.
    Address,
    /// Resources: income, payslips, tax notices.
    Resources,
    /// Social rights certificates (attestations de droits).
    SocialRights,
    /// Employment.
    Employment,
    /// Health insurance.
    HealthInsurance,
    /// Housing.
    Housing,
    /// Family.
    Family,
    /// Education and training.
    Education,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 10] = [
        Category::Identity,
        Category::Address,
        Category::Resources,
        Category::SocialRights,
        Category::Employment,
        Category::HealthInsurance,
        Category::Housing,
        Category::Family,
        Category::Education,
        Category::Other,
    ];

    /// The code used on the command line and in URLs.
    pub fn code(self) -> &'static str {
        match self {
            Category::Identity => "identity",
            Category::Address => "address",
            Category::Resources => "resources",
            Category::SocialRights => "social-rights",
            Category::Employment => "employment",
            Category::HealthInsurance => "health-insurance",
            Category::Housing => "housing",
            Category::Family => "family",
            Category::Education => "education",
            Category::Other => "other",
        }
    }

    /// The French label shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Category::Identity => "Identité",
            Category::Address => "Justificatif de domicile",
            Category::Resources => "Ressources",
            Category::SocialRights => "Attestation de droits sociaux",
            Category::Employment => "Emploi",
            Category::HealthInsurance => "Assurance maladie",
            Category::Housing => "Logement",
            Category::Family => "Famille",
            Category::Education => "Formation",
            Category::Other => "Autre",
        }
    }

    /// The category of a code.
    ///
    /// # Errors
    /// A message listing the valid codes.
    pub fn parse(code: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.code() == code.trim())
            .ok_or_else(|| {
                let all: Vec<&str> = Self::ALL.iter().map(|c| c.code()).collect();
                format!("unknown category {code:?}; use one of: {}", all.join(", "))
            })
    }
}

/// Procedures a consent can be given for; the person may also write one.
pub const PROCEDURES: &[(&str, &str)] = &[
    ("rsa", "Revenu de solidarité active (RSA)"),
    ("logement", "Demande de logement social"),
    ("handicap", "Dossier handicap (MDPH)"),
    ("emploi", "Inscription ou accompagnement vers l'emploi"),
    ("famille", "Prestations familiales"),
    ("sante", "Complémentaire santé solidaire"),
    ("formation", "Entrée en formation"),
    ("domiciliation", "Domiciliation administrative"),
];

/// The French label of a procedure code, or the free text itself.
pub fn procedure_label(code_or_text: &str) -> &str {
    PROCEDURES
        .iter()
        .find(|(c, _)| *c == code_or_text)
        .map_or(code_or_text, |(_, l)| l)
}

/// A person's pseudonym at one node: the hub derives a different one for
/// each node, so two institutions cannot match their records through it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pseudonym(pub String);

impl std::fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a node says about one document it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocSummary {
    /// Document id at the node (32 hex digits).
    pub id: String,
    /// Category.
    pub category: Category,
    /// File name as added.
    pub name: String,
    /// Media type, from the content.
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
    /// When the institution added it.
    pub added_at: UnixTime,
    /// SHA-256 of the content.
    pub sha256: [u8; 32],
}

/// Who a document query is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Requester {
    /// The person themselves, signed in to the vault.
    Person,
    /// A professional, under a consent the person gave.
    Professional {
        /// The professional's institution.
        institution: NodeId,
        /// The professional's account (login).
        account: String,
        /// The consent capability.
        consent: SignedConsent,
    },
}

/// Whom a consent is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Grantee {
    /// Every professional of an institution.
    Institution(NodeId),
    /// One professional.
    Professional {
        /// Their institution.
        institution: NodeId,
        /// Their account (login).
        account: String,
    },
}

impl Grantee {
    /// The institution of the grantee.
    pub fn institution(&self) -> &NodeId {
        match self {
            Grantee::Institution(n) | Grantee::Professional { institution: n, .. } => n,
        }
    }

    /// Whether a professional of `institution` with `account` is covered.
    pub fn covers(&self, institution: &NodeId, account: &str) -> bool {
        match self {
            Grantee::Institution(n) => n == institution,
            Grantee::Professional {
                institution: n,
                account: a,
            } => n == institution && a == account,
        }
    }
}

/// Which documents a consent covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// These documents.
    Documents(Vec<String>),
    /// Every document of these categories.
    Categories(Vec<Category>),
}

impl Scope {
    /// Whether a document is covered.
    pub fn covers(&self, doc: &DocSummary) -> bool {
        match self {
            Scope::Documents(ids) => ids.contains(&doc.id),
            Scope::Categories(cats) => cats.contains(&doc.category),
        }
    }
}

/// A consent, as the hub signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// Id (32 hex digits).
    pub id: String,
    /// The node holding the documents.
    pub holder: NodeId,
    /// The person, by their pseudonym at that node.
    pub person: Pseudonym,
    /// Who may see.
    pub grantee: Grantee,
    /// What they may see.
    pub scope: Scope,
    /// For which procedure (a code of [`PROCEDURES`] or the person's text).
    pub procedure: String,
    /// When the hub issued it.
    pub issued_at: UnixTime,
    /// Valid from.
    pub not_before: UnixTime,
    /// Valid until (excluded).
    pub not_after: UnixTime,
}

/// A consent and the hub's signature over its encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedConsent {
    /// The encoded [`Consent`].
    pub body: Vec<u8>,
    /// Ed25519 signature of the hub over a domain tag and `body`.
    pub signature: Vec<u8>,
}

const CONSENT_DOMAIN: &[u8] = b"passerelle-consent-v1";

impl SignedConsent {
    /// Signs a consent with the hub key.
    ///
    /// # Errors
    /// Only if the consent does not encode.
    pub fn sign(consent: &Consent, key: &SigningKey) -> Result<Self, codec::CodecError> {
        let body = codec::encode(consent)?;
        let signature = key.sign(&[CONSENT_DOMAIN, &body].concat());
        Ok(Self { body, signature })
    }

    /// The consent, if the signature verifies under `hub`.
    ///
    /// # Errors
    /// [`AccessRefusal::BadSignature`] otherwise.
    pub fn verify(&self, hub: &PublicKey) -> Result<Consent, AccessRefusal> {
        hub.verify(&[CONSENT_DOMAIN, &self.body].concat(), &self.signature)
            .map_err(|_| AccessRefusal::BadSignature)?;
        codec::decode(&self.body).map_err(|_| AccessRefusal::BadSignature)
    }
}

/// Why a node refuses a document query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AccessRefusal {
    /// The pseudonym is linked to no record here.
    #[error("no record here is linked to this person")]
    NotLinked,
    /// No such document for this person.
    #[error("no such document for this person")]
    NoSuchDocument,
    /// The consent's signature does not verify under the hub's key.
    #[error("consent signature does not verify under the hub's key")]
    BadSignature,
    /// The consent is for documents held by another node.
    #[error("consent is for documents held by another institution")]
    OtherHolder,
    /// The consent is for another person.
    #[error("consent is for another person")]
    OtherPerson,
    /// The consent was given to someone else.
    #[error("consent was given to someone else")]
    OtherGrantee,
    /// The document is outside the consent's scope.
    #[error("document outside the consent's scope")]
    OutOfScope,
    /// The consent is not valid yet.
    #[error("consent not valid yet")]
    NotYetValid,
    /// The consent has expired.
    #[error("consent expired")]
    Expired,
    /// The person revoked the consent.
    #[error("consent revoked")]
    Revoked,
}

impl AccessRefusal {
    /// Short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            AccessRefusal::NotLinked => "not_linked",
            AccessRefusal::NoSuchDocument => "no_such_document",
            AccessRefusal::BadSignature => "consent_bad_signature",
            AccessRefusal::OtherHolder => "consent_other_holder",
            AccessRefusal::OtherPerson => "consent_other_person",
            AccessRefusal::OtherGrantee => "consent_other_grantee",
            AccessRefusal::OutOfScope => "consent_out_of_scope",
            AccessRefusal::NotYetValid => "consent_not_yet_valid",
            AccessRefusal::Expired => "consent_expired",
            AccessRefusal::Revoked => "consent_revoked",
        }
    }

    /// The plain-French sentence shown on the portal.
    pub fn french(&self) -> &'static str {
        match self {
            AccessRefusal::NotLinked => {
                "Ce dossier n'est relié à aucune personne dans cette institution."
            }
            AccessRefusal::NoSuchDocument => {
                "Ce document n'existe pas, ou il ne vous concerne pas."
            }
            AccessRefusal::BadSignature => "L'autorisation présentée n'est pas authentique.",
            AccessRefusal::OtherHolder => "L'autorisation concerne une autre institution.",
            AccessRefusal::OtherPerson => "L'autorisation concerne une autre personne.",
            AccessRefusal::OtherGrantee => "L'autorisation a été donnée à quelqu'un d'autre.",
            AccessRefusal::OutOfScope => "Ce document ne fait pas partie de l'autorisation.",
            AccessRefusal::NotYetValid => "L'autorisation n'est pas encore valable.",
            AccessRefusal::Expired => "L'autorisation a expiré.",
            AccessRefusal::Revoked => "La personne a retiré son autorisation.",
        }
    }
}

/// Checks a professional's consent at the holding node. `doc` is the
/// document asked for, or `None` for a listing (each listed document is
/// then filtered with [`Scope::covers`]).
///
/// # Errors
/// The first [`AccessRefusal`] that applies.
#[allow(clippy::too_many_arguments)]
pub fn check_consent(
    signed: &SignedConsent,
    hub: &PublicKey,
    me: &NodeId,
    person: &Pseudonym,
    institution: &NodeId,
    account: &str,
    doc: Option<&DocSummary>,
    now: UnixTime,
    revoked: &dyn Fn(&str) -> bool,
) -> Result<Consent, AccessRefusal> {
    let c = signed.verify(hub)?;
    if &c.holder != me {
        return Err(AccessRefusal::OtherHolder);
    }
    if &c.person != person {
        return Err(AccessRefusal::OtherPerson);
    }
    if !c.grantee.covers(institution, account) {
        return Err(AccessRefusal::OtherGrantee);
    }
    if revoked(&c.id) {
        return Err(AccessRefusal::Revoked);
    }
    if now < c.not_before {
        return Err(AccessRefusal::NotYetValid);
    }
    if now >= c.not_after {
        return Err(AccessRefusal::Expired);
    }
    if let Some(d) = doc {
        if !c.scope.covers(d) {
            return Err(AccessRefusal::OutOfScope);
        }
    }
    Ok(c)
}

/// The media type of a document, judged by its first bytes (never by its
/// name): PDF, JPEG or PNG, the types the vault accepts.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

/// The usual file extension of an accepted media type.
pub fn extension(mime: &str) -> &'static str {
    match mime {
        "application/pdf" => "pdf",
        "image/jpeg" => "jpg",
        "image/png" => "png",
        _ => "bin",
    }
}

/// A fresh random id of 32 hex digits.
pub fn new_id(random: [u8; 16]) -> String {
    hex::encode(&random)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        SigningKey::from_pkcs8(pkcs8.as_ref()).unwrap()
    }

    fn node(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    fn doc(id: &str, category: Category) -> DocSummary {
        DocSummary {
            id: id.into(),
            category,
            name: "a.pdf".into(),
            mime: "application/pdf".into(),
            size: 1,
            added_at: 0,
            sha256: [0; 32],
        }
    }

    fn consent() -> Consent {
        Consent {
            id: "c1".into(),
            holder: node("caf"),
            person: Pseudonym("p1".into()),
            grantee: Grantee::Professional {
                institution: node("mission-locale"),
                account: "ana@ml.fr".into(),
            },
            scope: Scope::Documents(vec!["d1".into()]),
            procedure: "rsa".into(),
            issued_at: 100,
            not_before: 100,
            not_after: 200,
        }
    }

    #[test]
    fn a_valid_consent_passes_and_every_mismatch_is_named() {
        let k = key();
        let hub = k.public();
        let s = SignedConsent::sign(&consent(), &k).unwrap();
        let none = |_: &str| false;
        let d1 = doc("d1", Category::Resources);
        let check = |s: &SignedConsent,
                     me: &str,
                     p: &str,
                     inst: &str,
                     acc: &str,
                     d: &DocSummary,
                     now: u64,
                     rev: &dyn Fn(&str) -> bool| {
            check_consent(
                s,
                &hub,
                &node(me),
                &Pseudonym(p.into()),
                &node(inst),
                acc,
                Some(d),
                now,
                rev,
            )
        };
        assert!(check(
            &s,
            "caf",
            "p1",
            "mission-locale",
            "ana@ml.fr",
            &d1,
            150,
            &none
        )
        .is_ok());
        assert_eq!(
            check(
                &s,
                "pole",
                "p1",
                "mission-locale",
                "ana@ml.fr",
                &d1,
                150,
                &none
            ),
            Err(AccessRefusal::OtherHolder)
        );
        assert_eq!(
            check(
                &s,
                "caf",
                "p2",
                "mission-locale",
                "ana@ml.fr",
                &d1,
                150,
                &none
            ),
            Err(AccessRefusal::OtherPerson)
        );
        assert_eq!(
            check(
                &s,
                "caf",
                "p1",
                "mission-locale",
                "bob@ml.fr",
                &d1,
                150,
                &none
            ),
            Err(AccessRefusal::OtherGrantee)
        );
        assert_eq!(
            check(&s, "caf", "p1", "ccas", "ana@ml.fr", &d1, 150, &none),
            Err(AccessRefusal::OtherGrantee)
        );
        assert_eq!(
            check(
                &s,
                "caf",
                "p1",
                "mission-locale",
                "ana@ml.fr",
                &doc("d2", Category::Resources),
                150,
                &none
            ),
            Err(AccessRefusal::OutOfScope)
        );
        assert_eq!(
            check(
                &s,
                "caf",
                "p1",
                "mission-locale",
                "ana@ml.fr",
                &d1,
                99,
                &none
            ),
            Err(AccessRefusal::NotYetValid)
        );
        assert_eq!(
            check(
                &s,
                "caf",
                "p1",
                "mission-locale",
                "ana@ml.fr",
                &d1,
                200,
                &none
            ),
            Err(AccessRefusal::Expired)
        );
        assert_eq!(
            check(
                &s,
                "caf",
                "p1",
                "mission-locale",
                "ana@ml.fr",
                &d1,
                150,
                &|id| id == "c1"
            ),
            Err(AccessRefusal::Revoked)
        );
        // Signed by another key, or edited after signing.
        let forged = SignedConsent::sign(&consent(), &key()).unwrap();
        assert_eq!(
            check(
                &forged,
                "caf",
                "p1",
                "mission-locale",
                "ana@ml.fr",
                &d1,
                150,
                &none
            ),
            Err(AccessRefusal::BadSignature)
        );
        let mut widened = consent();
        widened.not_after = 10_000;
        let edited = SignedConsent {
            body: codec::encode(&widened).unwrap(),
            signature: s.signature.clone(),
        };
        assert_eq!(
            check(
                &edited,
                "caf",
                "p1",
                "mission-locale",
                "ana@ml.fr",
                &d1,
                150,
                &none
            ),
            Err(AccessRefusal::BadSignature)
        );
    }

    #[test]
    fn institution_grants_and_category_scopes() {
        let g = Grantee::Institution(node("ml"));
        assert!(g.covers(&node("ml"), "anyone"));
        assert!(!g.covers(&node("caf"), "anyone"));
        let s = Scope::Categories(vec![Category::Housing]);
        assert!(s.covers(&doc("x", Category::Housing)));
        assert!(!s.covers(&doc("x", Category::Identity)));
        for c in Category::ALL {
            assert_eq!(Category::parse(c.code()), Ok(c));
        }
        assert!(Category::parse("passport")
            .unwrap_err()
            .contains("identity"));
        assert_eq!(procedure_label("rsa"), "Revenu de solidarité active (RSA)");
        assert_eq!(procedure_label("Bourse"), "Bourse");
    }
}
