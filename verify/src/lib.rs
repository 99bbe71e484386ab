//! # passerelle-verify
//!
//! Checks a provenance bundle downloaded from a Passerelle portal
//! ("Vérifier ce chiffre") without trusting the portal: the CA fingerprint
//! against the one printed on the portal, the hub's certificate back to
//! that CA and its signature over the statement, every node certificate
//! back to the CA at the time the node answered, every node signature over
//! a disclosed answer, and every published value recomputed from the
//! disclosed answers with the hub's own composition code
//! (`passerelle-provenance`). It reads one file and does nothing else: no
//! network, no clock.
//!
//! [`chain`] checks that a regional hub's bundle is the one a national
//! bundle's contribution was taken from (hub of hubs).
//!
//! [`check`] collects every failure, each with its precise reason, rather
//! than stopping at the first.

mod chain;

pub use chain::{chain, composed};

use passerelle_certs::tls::{verify_hub_cert, verify_node_cert};
use passerelle_protocol::{
    envelope::{ReplyBody, SignedReply},
    hex,
    ids::NodeId,
    sign::sha256,
};
use passerelle_provenance::{
    bundle::{self, Bundle, Statement, FORMAT},
    compose::{self, Answers},
};

/// One reason a bundle does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The file is not a bundle.
    #[error("the file is not a provenance bundle: {0}")]
    Unreadable(String),
    /// A format this verifier does not know.
    #[error("bundle format {0} is not known to this verifier (it reads format {FORMAT})")]
    Format(u32),
    /// No CA certificate in the bundle has the expected fingerprint.
    #[error("no CA certificate in the bundle has the fingerprint {expected} (found: {found})")]
    CaFingerprint {
        /// Fingerprint given on the command line.
        expected: String,
        /// Fingerprints in the bundle.
        found: String,
    },
    /// The hub's certificate does not check.
    #[error("hub certificate: {0}")]
    HubCertificate(String),
    /// The hub's signature over the statement does not verify.
    #[error("the hub's signature over the statement does not verify: the statement was changed after signing, or signed by another key")]
    HubSignature,
    /// The statement is not readable.
    #[error("the hub's statement is unreadable: {0}")]
    Statement(String),
    /// A node certificate does not check.
    #[error("contribution {index} ({node}): certificate: {why}")]
    Certificate {
        /// Position of the contribution (from 1).
        index: usize,
        /// The node it claims.
        node: String,
        /// Why.
        why: String,
    },
    /// The answer's digest is not the one stated.
    #[error("contribution {index} ({node}): the answer's SHA-256 is not the one stated")]
    Digest {
        /// Position of the contribution (from 1).
        index: usize,
        /// The node it claims.
        node: String,
    },
    /// The node's signature over its answer does not verify.
    #[error("contribution {index} ({node}): {why}")]
    Signature {
        /// Position of the contribution (from 1).
        index: usize,
        /// The node it claims.
        node: String,
        /// Why.
        why: String,
    },
    /// The signed answer is not what the contribution says it is.
    #[error("contribution {index} ({node}): the signed answer is not the one stated ({why})")]
    NotTheAnswer {
        /// Position of the contribution (from 1).
        index: usize,
        /// The node it claims.
        node: String,
        /// What differs.
        why: String,
    },
    /// An auditor's export does not cover the public bundle it is
    /// compared with.
    #[error("the auditor's export does not match the public bundle: {0}")]
    Mismatch(String),
    /// A published value differs from the recomputed one.
    #[error("{place}: published {published}, recomputed {recomputed}")]
    Value {
        /// Level, code, period.
        place: String,
        /// As published.
        published: String,
        /// As recomputed.
        recomputed: String,
    },
}

/// What [`check`] found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// SHA-256 fingerprints of the CA certificates used (hex).
    pub ca_fingerprints: Vec<String>,
    /// What was checked and holds, one plain sentence a line.
    pub checked: Vec<String>,
    /// What could not be checked from this bundle, and why.
    pub unchecked: Vec<String>,
    /// Every failure.
    pub failures: Vec<Failure>,
}

impl Report {
    /// Whether everything checked holds.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// A Unix time as a UTC date and time (`2025-03-01 14:05:09 UTC`).
pub fn utc(t: u64) -> String {
    // Days to civil date (Howard Hinnant's algorithm), no time-zone data.
    let (days, secs) = ((t / 86_400) as i64, t % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn value(v: Option<f64>, status: compose::Status) -> String {
    match (v, status) {
        (Some(x), _) => x.to_string(),
        (None, s) => format!("{s:?}").to_lowercase(),
    }
}

/// Checks a bundle's bytes. With `ca_fingerprint` (the SHA-256 printed on
/// the portal), only the CA with that fingerprint is trusted; without it,
/// the bundle's own CA certificates are used and the report gives their
/// fingerprints to compare with the portal's.
pub fn check(bytes: &[u8], ca_fingerprint: Option<[u8; 32]>) -> Report {
    let mut r = Report::default();
    let b: Bundle = match serde_json::from_slice(bytes) {
        Ok(b) => b,
        Err(e) => {
            r.failures.push(Failure::Unreadable(e.to_string()));
            return r;
        }
    };
    if b.format != FORMAT {
        r.failures.push(Failure::Format(b.format));
        return r;
    }
    let all: Vec<Vec<u8>> = b.ca_certificates.iter().map(|c| c.0.clone()).collect();
    let cas: Vec<Vec<u8>> = match ca_fingerprint {
        Some(fp) => {
            let found: Vec<Vec<u8>> = all.iter().filter(|c| sha256(c) == fp).cloned().collect();
            if found.is_empty() {
                r.failures.push(Failure::CaFingerprint {
                    expected: hex::encode(&fp),
                    found: all
                        .iter()
                        .map(|c| hex::encode(&sha256(c)))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            } else {
                r.checked
                    .push("The bundle's CA certificate has the fingerprint given.".into());
            }
            found
        }
        None => all,
    };
    r.ca_fingerprints = cas.iter().map(|c| hex::encode(&sha256(c))).collect();
    let statement: Statement = match serde_json::from_str(b.statement.get()) {
        Ok(s) => s,
        Err(e) => {
            r.failures.push(Failure::Statement(e.to_string()));
            return r;
        }
    };
    r.checked.push(format!(
        "Indicator {} ({}), composed {}; this bundle covers level {}, period {}.",
        statement.indicator.id,
        statement.indicator.title,
        utc(statement.computed_at),
        statement
            .scope
            .level
            .map_or("all".to_string(), |l| l.as_str().to_string()),
        statement
            .scope
            .period
            .map_or("all".to_string(), |p| p.to_string()),
    ));
    match verify_hub_cert(&cas, &b.hub_certificate.0, statement.issued_at) {
        Err(e) => r.failures.push(Failure::HubCertificate(e.to_string())),
        Ok(hub) => {
            r.checked.push(format!(
                "The hub's certificate (serial {}) was issued by the CA.",
                hub.serial
            ));
            let message = bundle::signed_message(b.statement.get());
            match hub.public_key.verify(&message, &b.hub_signature.0) {
                Ok(()) => r
                    .checked
                    .push("The hub signed this statement as it stands.".into()),
                Err(_) => r.failures.push(Failure::HubSignature),
            }
        }
    }
    let answers = contributions(&statement, &cas, &mut r);
    recompute(&statement, answers, &mut r);
    r
}

/// Checks that an auditor's export (`audit`, itself checked with
/// [`check`]) is about the same result as a public bundle: same indicator
/// and composition time, and every contribution of the public bundle (node
/// and answer digest) in the export. With both checked, the answers
/// recomputed from the export are those the public bundle attests.
pub fn compare(audit: &[u8], public: &[u8]) -> Result<(), Failure> {
    let read = |bytes: &[u8]| -> Result<Statement, Failure> {
        let b: Bundle =
            serde_json::from_slice(bytes).map_err(|e| Failure::Unreadable(e.to_string()))?;
        serde_json::from_str(b.statement.get()).map_err(|e| Failure::Statement(e.to_string()))
    };
    let (a, p) = (read(audit)?, read(public)?);
    if a.indicator != p.indicator || a.computed_at != p.computed_at {
        return Err(Failure::Mismatch(format!(
            "{} composed {} is not {} composed {}",
            a.indicator.id,
            utc(a.computed_at),
            p.indicator.id,
            utc(p.computed_at)
        )));
    }
    for c in &p.contributions {
        if !a
            .contributions
            .iter()
            .any(|x| x.node_id == c.node_id && x.answer_sha256 == c.answer_sha256)
        {
            return Err(Failure::Mismatch(format!(
                "the answer of {} attested in the public bundle is not in the export",
                c.node_id
            )));
        }
    }
    Ok(())
}

/// Checks every contribution; returns the disclosed answers when every
/// contribution is disclosed and checks.
fn contributions(s: &Statement, cas: &[Vec<u8>], r: &mut Report) -> Option<Answers> {
    let mut answers = Some(Answers::new());
    let mut attested = Vec::new();
    for (i, c) in s.contributions.iter().enumerate() {
        let (index, node) = (i + 1, c.node_id.clone());
        let before = r.failures.len();
        let identity = match verify_node_cert(cas, &c.certificate.0, c.issued_at) {
            Ok(id) if id.node_id.as_str() == c.node_id => Some(id),
            Ok(id) => {
                r.failures.push(Failure::Certificate {
                    index,
                    node: node.clone(),
                    why: format!("it certifies node {}, not {}", id.node_id, c.node_id),
                });
                None
            }
            Err(e) => {
                r.failures.push(Failure::Certificate {
                    index,
                    node: node.clone(),
                    why: e.to_string(),
                });
                None
            }
        };
        let Some(body) = &c.signed_answer else {
            if r.failures.len() == before {
                attested.push(format!(
                    "{node} ({}, signed {})",
                    c.dataset,
                    utc(c.issued_at)
                ));
            }
            answers = None;
            continue;
        };
        if sha256(&body.0).as_slice() != c.answer_sha256.0.as_slice() {
            r.failures.push(Failure::Digest {
                index,
                node: node.clone(),
            });
        }
        let Some(identity) = identity else {
            answers = None;
            continue;
        };
        let signed = SignedReply {
            version: passerelle_protocol::PROTOCOL_VERSION,
            body: body.0.clone(),
            signature: c.signature.0.clone(),
        };
        let Ok(node_id) = NodeId::new(&c.node_id) else {
            answers = None;
            continue;
        };
        let checked: Result<ReplyBody, String> = signed
            .verify(&identity.public_key, &node_id, None)
            .map_err(|e| e.to_string());
        let body = match checked {
            Ok(b) => b,
            Err(why) => {
                r.failures.push(Failure::Signature { index, node, why });
                answers = None;
                continue;
            }
        };
        let a = bundle::answer(&body);
        let why = match a {
            None => Some("not an aggregate answer".to_string()),
            Some(_) if body.issued_at != c.issued_at => Some(format!(
                "signed at {}, stated {}",
                body.issued_at, c.issued_at
            )),
            Some(a) if a.query.dataset != c.dataset || a.query.measure != c.measure => {
                Some(format!(
                    "answers {} {}, stated {} {}",
                    a.query.dataset, a.query.measure, c.dataset, c.measure
                ))
            }
            Some(_) => None,
        };
        match (why, a) {
            (Some(why), _) => {
                r.failures.push(Failure::NotTheAnswer { index, node, why });
                answers = None;
            }
            (None, Some(a)) => {
                r.checked.push(format!(
                    "{} ({}) signed its answer for {} on {}, with a certificate issued by the CA.",
                    identity.institution,
                    c.node_id,
                    c.dataset,
                    utc(c.issued_at)
                ));
                if let Some(list) = answers.as_mut() {
                    list.entry((c.dataset.clone(), c.measure.clone()))
                        .or_default()
                        .push(a.clone());
                }
            }
            (None, None) => answers = None,
        }
    }
    if !attested.is_empty() {
        r.checked.push(format!(
            "Contributions attested by the hub, each from a node certified by the CA: {}.",
            attested.join("; ")
        ));
        r.unchecked.push(
            "Those answers are not in this public bundle (publishing them would disclose more than the portal does): their signatures and the values computed from them are checked by an auditor from the operator's export."
                .into(),
        );
    }
    answers
}

/// Recomputes the published cells from the disclosed answers.
fn recompute(s: &Statement, answers: Option<Answers>, r: &mut Report) {
    let Some(answers) = answers else {
        r.unchecked.push(format!(
            "The {} published values were not recomputed: not every answer they come from is in this bundle and checks.",
            s.cells.len()
        ));
        return;
    };
    let all = compose::compose_with(
        &s.indicator.formula,
        s.indicator.decimals,
        &answers,
        &s.denominators,
    );
    let recomputed: Vec<_> = all.into_iter().filter(|c| s.scope.contains(c)).collect();
    let place = |c: &compose::ResultCell| format!("{:?} {} {}", c.level, c.code, c.period);
    for p in &s.cells {
        let again = recomputed
            .iter()
            .find(|c| c.level == p.level && c.code == p.code && c.period == p.period);
        match again {
            Some(c) if c == p => {}
            Some(c) => r.failures.push(Failure::Value {
                place: place(p),
                published: value(p.value, p.status),
                recomputed: value(c.value, c.status),
            }),
            None => r.failures.push(Failure::Value {
                place: place(p),
                published: value(p.value, p.status),
                recomputed: "nothing".into(),
            }),
        }
    }
    for c in &recomputed {
        if !s
            .cells
            .iter()
            .any(|p| p.level == c.level && p.code == c.code && p.period == c.period)
        {
            r.failures.push(Failure::Value {
                place: place(c),
                published: "nothing".into(),
                recomputed: value(c.value, c.status),
            });
        }
    }
    if r.failures.is_empty() {
        r.checked.push(format!(
            "All {} published values were recomputed from the signed answers and match.",
            s.cells.len()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_796_275_354), "2026-12-03 05:22:34 UTC");
    }

    #[test]
    fn garbage_is_not_a_bundle() {
        let r = check(b"not json", None);
        assert!(matches!(r.failures.as_slice(), [Failure::Unreadable(_)]));
        let r = check(br#"{"format": 9, "ca_certificates": [], "hub_certificate": "", "statement": {}, "hub_signature": ""}"#, None);
        assert_eq!(r.failures, vec![Failure::Format(9)]);
    }
}
