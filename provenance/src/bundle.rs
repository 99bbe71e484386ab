//! The provenance bundle behind "Vérifier ce chiffre".
//!
//! A bundle is a JSON file holding the network's CA certificate(s), the
//! hub's certificate, and the hub's *statement*: the indicator's
//! definition, the scope (level, period) and the published cells in it,
//! and one entry per signed node answer the result was composed from. The
//! hub signs the statement's exact bytes (after [`CONTEXT`]) with its key,
//! the one its certificate certifies; the verifier checks that
//! certificate back to the CA whose fingerprint the portal prints.
//!
//! ## What a public bundle discloses
//!
//! Nothing the portal does not already publish. A node signs the whole
//! encoded answer (Ed25519 over the bytes, not over a digest), so its
//! signature can be checked only with the answer itself, all of it. The
//! answer is therefore put in a public bundle only when the result has a
//! single contribution and every cell of that answer is a figure the
//! portal publishes, at the same place with the same value: see
//! [`disclosable`]. An answer with a withheld cell is never disclosed: it
//! says why each cell was withheld (too few people, or hidden so another
//! cannot be recovered by subtraction), which tells which cell of a masked
//! pair is the small one, while the portal says only "secret
//! statistique". Otherwise the entry carries the
//! node's certificate, when it answered, the SHA-256 of the answer it
//! signed and its signature, under the hub's signature: the public checks
//! which approved nodes contributed and when, and an auditor holding the
//! operator's full export (every answer, [`Kind::Audit`]) checks the
//! signatures and recomputes every value, and that the digests match.

use passerelle_protocol::{
    aggregate::{AggregateAnswer, CellValue, Measure},
    codec::{self, CodecError},
    envelope::{Outcome, ReplyBody, SignedReply},
    geo::Level,
    period::Period,
    sign::{sha256, SigningKey},
    UnixTime,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::{
    compose::{ResultCell, Status},
    formula::Formula,
    hexbytes::Hex,
    population::Denominators,
};

/// Version of the bundle format written by this build.
pub const FORMAT: u32 = 1;

/// What the hub's signature covers before the statement's bytes, so a
/// statement can never be taken for a query the same key signs.
pub const CONTEXT: &[u8] = b"passerelle provenance statement v1\n";

/// A provenance bundle, as downloaded.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// [`FORMAT`].
    pub format: u32,
    /// The CA certificates (DER) the network trusts; the portal prints
    /// the SHA-256 fingerprint of the DER.
    pub ca_certificates: Vec<Hex>,
    /// The hub's certificate (DER), issued by one of the CAs.
    pub hub_certificate: Hex,
    /// The hub's [`Statement`], exactly as signed.
    pub statement: Box<RawValue>,
    /// The hub's Ed25519 signature over [`CONTEXT`] and the statement.
    pub hub_signature: Hex,
}

/// What the hub states about a published result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// The catalog definition.
    pub indicator: Definition,
    /// When the result was composed.
    pub computed_at: UnixTime,
    /// When the bundle was made.
    pub issued_at: UnixTime,
    /// The part of the result the bundle is about.
    pub scope: Scope,
    /// Public bundle or auditor's export.
    pub kind: Kind,
    /// The published cells in the scope.
    pub cells: Vec<ResultCell>,
    /// The signed answers the result was composed from.
    pub contributions: Vec<Contribution>,
    /// The population figures the result divided by, when not the
    /// built-in 2017 ones (absent then, so earlier bundles read the same).
    #[serde(default, skip_serializing_if = "Denominators::is_empty")]
    pub denominators: Denominators,
}

/// The catalog definition of an indicator, as far as computing it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// Identifier.
    pub id: String,
    /// French title.
    pub title: String,
    /// Unit, in French.
    pub unit: String,
    /// The computation.
    pub formula: Formula,
    /// Decimals every value is rounded to.
    pub decimals: u8,
}

/// Which cells a bundle is about; `None` means every level or period.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Level.
    pub level: Option<Level>,
    /// Period.
    pub period: Option<Period>,
}

impl Scope {
    /// Whether a cell is in the scope.
    pub fn contains(&self, c: &ResultCell) -> bool {
        self.level.is_none_or(|l| l == c.level) && self.period.is_none_or(|p| p == c.period)
    }
}

/// Who a bundle is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// Anyone: discloses only what the portal publishes.
    Public,
    /// An auditor, from the operator's export: every signed answer.
    Audit,
}

/// One node answer the result was composed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contribution {
    /// The node, as its signed answer names it.
    pub node_id: String,
    /// Dataset asked.
    pub dataset: String,
    /// Measure asked.
    pub measure: Measure,
    /// When the node signed its answer (node clock).
    pub issued_at: UnixTime,
    /// The node's certificate (DER) at the time.
    pub certificate: Hex,
    /// SHA-256 of the signed answer's bytes.
    pub answer_sha256: Hex,
    /// The node's Ed25519 signature over the answer's bytes.
    pub signature: Hex,
    /// The signed answer's bytes, when this bundle may disclose them.
    pub signed_answer: Option<Hex>,
}

/// A signed answer the hub kept with a result.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The node's certificate (DER).
    pub cert_der: &'a [u8],
    /// Dataset asked.
    pub dataset: &'a str,
    /// Measure asked.
    pub measure: &'a Measure,
    /// The reply as the node signed it.
    pub signed: &'a SignedReply,
}

/// Why a bundle could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A kept answer does not decode.
    #[error("kept answer {index} does not decode: {source}")]
    Answer {
        /// Its position.
        index: usize,
        /// Why.
        source: CodecError,
    },
    /// JSON writing or reading failed.
    #[error("bundle JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The aggregate answer in a signed reply's body, if it is one (a node's,
/// or a regional hub's composed answer).
pub fn answer(body: &ReplyBody) -> Option<&AggregateAnswer> {
    match &body.outcome {
        Outcome::Answered(a) => a.aggregate(),
        Outcome::Refused(_) => None,
    }
}

/// Whether an answer holds only figures the portal publishes: each of its
/// cells is a released total (no category) at a place the result
/// publishes, with the same value. A withheld cell makes it undisclosable:
/// its reason (threshold, dominance, secondary) is not published.
pub fn disclosable(answer: &AggregateAnswer, published: &[ResultCell]) -> bool {
    answer.cells.iter().all(|a| {
        a.category.is_none()
            && published
                .iter()
                .find(|c| c.level == a.level && c.code == a.code && c.period == a.period)
                .is_some_and(|c| match a.value {
                    CellValue::Released(x) => c.status == Status::Released && c.value == Some(x),
                    CellValue::Suppressed(_) => false,
                })
    })
}

/// The hub's statement about a result: its cells in `scope`, and every
/// source, the answer itself only where the bundle may disclose it (any
/// answer for [`Kind::Audit`]; for [`Kind::Public`], a single source whose
/// answer is [`disclosable`] against every published cell).
///
/// # Errors
/// [`BundleError::Answer`] when a kept answer does not decode.
pub fn statement(
    indicator: Definition,
    computed_at: UnixTime,
    issued_at: UnixTime,
    scope: Scope,
    published: &[ResultCell],
    sources: &[Source<'_>],
    kind: Kind,
) -> Result<Statement, BundleError> {
    let mut contributions = Vec::with_capacity(sources.len());
    for (index, s) in sources.iter().enumerate() {
        let body: ReplyBody = codec::decode(&s.signed.body)
            .map_err(|source| BundleError::Answer { index, source })?;
        let disclose = match kind {
            Kind::Audit => true,
            Kind::Public => {
                sources.len() == 1 && answer(&body).is_some_and(|a| disclosable(a, published))
            }
        };
        contributions.push(Contribution {
            node_id: body.node_id.to_string(),
            dataset: s.dataset.to_string(),
            measure: s.measure.clone(),
            issued_at: body.issued_at,
            certificate: Hex(s.cert_der.to_vec()),
            answer_sha256: Hex(sha256(&s.signed.body).to_vec()),
            signature: Hex(s.signed.signature.clone()),
            signed_answer: disclose.then(|| Hex(s.signed.body.clone())),
        });
    }
    Ok(Statement {
        indicator,
        computed_at,
        issued_at,
        scope,
        kind,
        cells: published
            .iter()
            .filter(|c| scope.contains(c))
            .cloned()
            .collect(),
        contributions,
        denominators: Denominators::default(),
    })
}

/// The bytes the hub signs for a statement's JSON text.
pub fn signed_message(statement_json: &str) -> Vec<u8> {
    [CONTEXT, statement_json.as_bytes()].concat()
}

/// Signs a statement with the hub's key into a bundle.
///
/// # Errors
/// [`BundleError::Json`] when the statement cannot be written.
pub fn seal(
    statement: &Statement,
    cas: &[Vec<u8>],
    hub_cert_der: &[u8],
    hub_key: &SigningKey,
) -> Result<Bundle, BundleError> {
    let text = serde_json::to_string(statement)?;
    let hub_signature = Hex(hub_key.sign(&signed_message(&text)));
    Ok(Bundle {
        format: FORMAT,
        ca_certificates: cas.iter().map(|c| Hex(c.clone())).collect(),
        hub_certificate: Hex(hub_cert_der.to_vec()),
        statement: RawValue::from_string(text)?,
        hub_signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_protocol::aggregate::{AggregateQuery, AnswerCell, AppliedRule, Suppression};

    fn cell(code: &str, value: Option<f64>, status: Status) -> ResultCell {
        ResultCell {
            level: Level::Commune,
            code: code.into(),
            period: Period::Year(2024),
            value,
            status,
        }
    }

    fn answer(cells: Vec<(&str, CellValue)>) -> AggregateAnswer {
        AggregateAnswer {
            query: AggregateQuery {
                dataset: "d".into(),
                measure: Measure::Count,
                periods: vec![],
                by: None,
            },
            categories: vec![],
            rule: AppliedRule {
                min_count: 11,
                dominance: None,
                rounding: None,
            },
            data_as_of: None,
            cells: cells
                .into_iter()
                .map(|(code, value)| AnswerCell {
                    level: Level::Commune,
                    code: code.into(),
                    period: Period::Year(2024),
                    category: None,
                    value,
                })
                .collect(),
        }
    }

    #[test]
    fn an_answer_is_disclosable_only_when_the_portal_publishes_all_of_it() {
        let published = vec![
            cell("97611", Some(40.0), Status::Released),
            cell("97607", None, Status::Suppressed),
        ];
        let same = answer(vec![("97611", CellValue::Released(40.0))]);
        assert!(disclosable(&same, &published));
        // Why a cell is withheld is not published.
        let masked = answer(vec![
            ("97611", CellValue::Released(40.0)),
            ("97607", CellValue::Suppressed(Suppression::Threshold)),
        ]);
        assert!(!disclosable(&masked, &published));
        let part = answer(vec![("97611", CellValue::Released(25.0))]);
        assert!(!disclosable(&part, &published));
        let elsewhere = answer(vec![("97601", CellValue::Released(3.0))]);
        assert!(!disclosable(&elsewhere, &published));
        let shown = answer(vec![("97607", CellValue::Released(3.0))]);
        assert!(!disclosable(&shown, &published));
    }
}
