//! Verifiable duplicates ("copie fiable"): a copy of a document that
//! carries a verification code, a QR code, the original's hash and the
//! time of issue, sealed by the hub's signature. `/verifier/CODE` tells
//! whether a presented copy is the one issued, which institution holds the
//! original, and when the copy was issued — nothing more.

use passerelle_protocol::{
    codec, hex,
    ids::NodeId,
    sign::{sha256, PublicKey, SigningKey},
    vault::Category,
    UnixTime,
};
use serde::{Deserialize, Serialize};

use super::{
    accounts::{code, normalise_code},
    pdf,
    store::{DuplicateRecord, VaultStore},
};
use passerelle_hub_core::HubError;

const SEAL_DOMAIN: &[u8] = b"passerelle-duplicate-v1";
const COPY_DOMAIN: &[u8] = b"passerelle-duplicate-copy-v1";

/// What the hub seals about a copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    /// Verification code (normalised, without dashes).
    pub code: String,
    /// The institution holding the original.
    pub holder: NodeId,
    /// Its name.
    pub holder_name: String,
    /// Category of the document.
    pub category: Category,
    /// SHA-256 of the original.
    pub original_sha256: [u8; 32],
    /// When the copy was issued.
    pub issued_at: UnixTime,
    /// Who issued it (`la personne`, or a professional's name).
    pub issued_by: String,
}

/// The original a copy is made of.
#[derive(Debug, Clone)]
pub struct Original<'a> {
    /// Holder node.
    pub holder: NodeId,
    /// Holder name.
    pub holder_name: String,
    /// Category.
    pub category: Category,
    /// File name.
    pub name: &'a str,
    /// Media type.
    pub mime: &'a str,
    /// Content.
    pub bytes: &'a [u8],
}

/// A code as printed: groups of four.
pub fn display_code(c: &str) -> String {
    c.as_bytes()
        .chunks(4)
        .map(|g| String::from_utf8_lossy(g).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Issues a copy: seals the statement, writes the PDF, records both
/// hashes signed. Returns the code and the copy's bytes.
///
/// # Errors
/// On a store failure.
#[allow(clippy::too_many_arguments)]
pub fn issue(
    store: &VaultStore,
    key: &SigningKey,
    base_url: &str,
    person: &str,
    original: &Original<'_>,
    issued_by: &str,
    now: UnixTime,
) -> Result<(String, Vec<u8>), HubError> {
    let c = normalise_code(&code(3));
    let seal = Seal {
        code: c.clone(),
        holder: original.holder.clone(),
        holder_name: original.holder_name.clone(),
        category: original.category,
        original_sha256: sha256(original.bytes),
        issued_at: now,
        issued_by: issued_by.to_string(),
    };
    let seal_bytes = codec::encode(&seal)?;
    let seal_signature = key.sign(&[SEAL_DOMAIN, &seal_bytes].concat());
    let url = format!(
        "{}/verifier/{}",
        base_url.trim_end_matches('/'),
        display_code(&c)
    );
    let bytes = pdf::copy(&pdf::Stamp {
        lines: stamp_lines(&seal, &seal_signature, &url),
        qr_text: &url,
        original: (original.name, original.mime, original.bytes),
    });
    let copy_sha256 = sha256(&bytes);
    let copy_signature = key.sign(&[COPY_DOMAIN, c.as_bytes(), &copy_sha256].concat());
    store.put_duplicate(
        &c,
        &DuplicateRecord {
            seal: seal_bytes,
            seal_signature,
            copy_sha256,
            copy_signature,
            person: person.to_string(),
        },
    )?;
    Ok((c, bytes))
}

/// What the stamp page says (bold flag, text): the code and where to
/// verify it, the sealed statement, the original's hash and the seal.
fn stamp_lines(seal: &Seal, seal_signature: &[u8], url: &str) -> Vec<(bool, String)> {
    let sig_hex = hex::encode(seal_signature);
    let orig_hex = hex::encode(&seal.original_sha256);
    vec![
        (true, "COPIE VÉRIFIABLE".to_string()),
        (
            true,
            format!("Code de vérification : {}", display_code(&seal.code)),
        ),
        (false, format!("Vérifier cette copie : {url}")),
        (false, format!("Document : {}", seal.category.label())),
        (false, format!("Original détenu par : {}", seal.holder_name)),
        (
            false,
            format!(
                "Copie délivrée le : {}",
                passerelle_hub_core::french::date(seal.issued_at)
            ),
        ),
        (false, format!("Délivrée par : {}", seal.issued_by)),
        (false, "Empreinte SHA-256 de l'original :".to_string()),
        (false, orig_hex[..32].to_string()),
        (false, orig_hex[32..].to_string()),
        (
            false,
            "Sceau de la plateforme (signature Ed25519) :".to_string(),
        ),
        (false, sig_hex[..64].to_string()),
        (false, sig_hex[64..].to_string()),
        (false, String::new()),
        (
            false,
            "Le document original est joint à ce fichier, sans modification (pièce jointe)."
                .to_string(),
        ),
        (
            false,
            "Toute modification de ce fichier se voit à la vérification.".to_string(),
        ),
    ]
}

/// What verification finds for a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// No copy carries this code.
    Unknown,
    /// The record exists but its signatures do not verify.
    Invalid,
    /// A genuine issue record, and the copy's hash.
    Issued(Seal, [u8; 32]),
}

/// Looks a code up and checks the hub's signatures on its record.
///
/// # Errors
/// On a store failure.
pub fn find(store: &VaultStore, hub: &PublicKey, text: &str) -> Result<Found, HubError> {
    let c = normalise_code(text);
    let Some(r) = store.duplicate(&c)? else {
        return Ok(Found::Unknown);
    };
    let sealed_ok = hub
        .verify(&[SEAL_DOMAIN, &r.seal].concat(), &r.seal_signature)
        .is_ok();
    let copy_ok = hub
        .verify(
            &[COPY_DOMAIN, c.as_bytes(), &r.copy_sha256].concat(),
            &r.copy_signature,
        )
        .is_ok();
    match codec::decode::<Seal>(&r.seal) {
        Ok(seal) if sealed_ok && copy_ok && seal.code == c => {
            Ok(Found::Issued(seal, r.copy_sha256))
        }
        _ => Ok(Found::Invalid),
    }
}
