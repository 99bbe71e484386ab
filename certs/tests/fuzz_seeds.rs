//! Seeds of the `frame` and `message` fuzz targets (`fuzz/corpus/`), made
//! from real encodings. The committed seeds must read as what they claim to
//! be; `PASSERELLE_BLESS=1 cargo test -p passerelle-certs --test fuzz_seeds`
//! writes them afresh (keys and serials are random, so the bytes change).
//!
//! A `message` seed is one selector byte (the type, as the target numbers
//! them) followed by the encoded value.

use std::path::{Path, PathBuf};

use passerelle_certs::{
    ca::{node_request, Ca},
    identity::{HubIdentity, NodeIdentity},
};
use passerelle_protocol::{
    aggregate::{
        AggregateAnswer, AggregateQuery, AnswerCell, AppliedRule, CellValue, Measure, Suppression,
    },
    audit::{Action, Actor, Event, Record},
    codec,
    directory::DirectoryEntry,
    enroll::{EnrollRequest, EnrollResponse, Token},
    envelope::{Outcome, QueryBody, ReplyBody, SignedQuery, SignedReply},
    frame,
    geo::Level,
    ids::NodeId,
    message::{Answer, NodeRequest, NodeResponse, NodeStatus, ProbeReply, Query, Refusal},
    period::Period,
    sign::SigningKey,
    vault::{Category, Consent, DocSummary, Grantee, Pseudonym, Requester, Scope, SignedConsent},
};
use serde::Serialize;

const T0: u64 = 1_750_000_000;

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

fn seed<T: Serialize>(kind: u8, value: &T) -> Vec<u8> {
    let mut bytes = vec![kind];
    bytes.extend(codec::encode(value).unwrap());
    bytes
}

fn aggregate_answer() -> Answer {
    Answer::Aggregate(AggregateAnswer {
        query: AggregateQuery {
            dataset: "rsa".into(),
            measure: Measure::Count,
            periods: vec![],
            by: None,
        },
        categories: vec!["F".into(), "M".into()],
        rule: AppliedRule {
            min_count: 11,
            dominance: Some(0.85),
            rounding: None,
        },
        data_as_of: Some(T0),
        cells: vec![
            AnswerCell {
                level: Level::Commune,
                code: "97611".into(),
                period: Period::Month(2024, 9),
                category: Some("F".into()),
                value: CellValue::Released(42.0),
            },
            AnswerCell {
                level: Level::Epci,
                code: "200060465".into(),
                period: Period::Year(2024),
                category: None,
                value: CellValue::Suppressed(Suppression::Threshold),
            },
        ],
    })
}

/// Every `message` seed, by name.
fn messages() -> Vec<(&'static str, Vec<u8>)> {
    let ca = Ca::generate("Passerelle test CA", T0, 86_400 * 365).unwrap();
    let node = NodeId::new("caf-976").unwrap();
    let req = node_request("caf-976").unwrap();
    let cert = ca
        .issue_node(&req.csr_der, &node, "CAF", T0, 86_400)
        .unwrap();
    let key = SigningKey::from_pkcs8(&req.key_pkcs8).unwrap();
    let person = Pseudonym("p-0123456789abcdef".into());
    let body = QueryBody {
        query_id: [7; 16],
        issued_at: T0,
        nonce: [9; 16],
        audience: passerelle_protocol::envelope::Audience::Node(node.clone()),
        query: Query::Aggregate(AggregateQuery {
            dataset: "rsa".into(),
            measure: Measure::Sum("montant".into()),
            periods: vec![Period::Year(2024), Period::Quarter(2025, 1)],
            by: Some("sexe".into()),
        }),
    };
    let doc = DocSummary {
        id: "0123456789abcdef0123456789abcdef".into(),
        category: Category::ALL[0],
        name: "attestation.pdf".into(),
        mime: "application/pdf".into(),
        size: 1234,
        added_at: T0,
        sha256: [3; 32],
    };
    let reply = ReplyBody {
        query_id: Some([7; 16]),
        node_id: node.clone(),
        issued_at: T0 + 1,
        outcome: Outcome::Answered(aggregate_answer()),
    };
    let consent = Consent {
        id: "fedcba9876543210fedcba9876543210".into(),
        holder: node.clone(),
        person: person.clone(),
        grantee: Grantee::Professional {
            institution: node.clone(),
            account: "agent@caf".into(),
        },
        scope: Scope::Documents(vec![doc.id.clone()]),
        procedure: "logement".into(),
        issued_at: T0,
        not_before: T0,
        not_after: T0 + 10_000_000,
    };
    let signed_consent = SignedConsent::sign(&consent, &key).unwrap();
    let event = Event {
        actor: Actor::Professional {
            account: "agent@caf".into(),
            institution: "caf-976".into(),
        },
        action: Action::Download,
        person: Some(person.0.clone()),
        subject: doc.id.clone(),
        procedure: Some("logement".into()),
        detail: String::new(),
    };
    let status = NodeStatus {
        version: "0.1.0".into(),
        protocol: 2,
        node_id: node.clone(),
        institution: "CAF".into(),
        datasets: vec!["rsa".into()],
        cert_not_after: T0 + 10_000_000,
        now: T0,
    };
    let fetch = Query::Fetch {
        person: person.clone(),
        document: doc.id.clone(),
        requester: Requester::Professional {
            institution: node.clone(),
            account: "agent@caf".into(),
            consent: signed_consent.clone(),
        },
    };
    let probe = ProbeReply {
        hub_time: T0,
        protocol: 2,
        version: "0.1.0".into(),
        admitted: Some(node.clone()),
    };
    let enroll = EnrollRequest {
        version: 2,
        secret: [5; 16],
        csr_der: req.csr_der.clone(),
    };
    let issued = EnrollResponse::Issued {
        node_id: node.clone(),
        name: "CAF".into(),
        cert_der: cert.clone(),
        ca_der: ca.cert_der().to_vec(),
    };
    let entry = DirectoryEntry {
        name: "CAF de Mayotte".into(),
        services: vec!["RSA".into()],
        communes: vec!["97611".into()],
        ..DirectoryEntry::default()
    };
    let stale = Refusal::Stale {
        issued_at: 1,
        now: 2,
        window_secs: 300,
    };
    let token = format!("PSL1-{}-{}", "0a".repeat(16), "1b".repeat(32));
    vec![
        (
            "signed-query",
            seed(0, &SignedQuery::sign(&body, &key).unwrap()),
        ),
        ("query-body", seed(1, &body)),
        ("query-fetch", seed(2, &fetch)),
        (
            "query-revoked",
            seed(2, &Query::RevokedConsents(vec![consent.id.clone()])),
        ),
        (
            "signed-reply",
            seed(3, &SignedReply::sign(&reply, &key).unwrap()),
        ),
        ("reply-body", seed(4, &reply)),
        (
            "outcome-refused",
            seed(5, &Outcome::Refused(Refusal::Replayed)),
        ),
        ("answer-status", seed(6, &Answer::Status(status))),
        (
            "answer-documents",
            seed(6, &Answer::Documents(vec![doc.clone()])),
        ),
        ("refusal-stale", seed(7, &stale)),
        (
            "node-request",
            seed(
                8,
                &NodeRequest::Renew {
                    csr_der: req.csr_der.clone(),
                },
            ),
        ),
        (
            "node-response",
            seed(9, &NodeResponse::Linked(person.clone())),
        ),
        ("probe-reply", seed(10, &probe)),
        ("enroll-request", seed(11, &enroll)),
        ("enroll-response", seed(12, &issued)),
        ("signed-consent", seed(13, &signed_consent)),
        ("consent", seed(14, &consent)),
        ("doc-summary", seed(15, &doc)),
        (
            "audit-record",
            seed(16, &Record::next(None, T0, event.clone())),
        ),
        ("audit-event", seed(17, &event)),
        ("directory-entry", seed(18, &entry)),
        ("protocol-version", seed(19, &2u16)),
        ("node-cert", [vec![20], cert].concat()),
        ("ca-cert", [vec![20], ca.cert_der().to_vec()].concat()),
        ("token", [vec![21], token.into_bytes()].concat()),
    ]
}

/// Every `frame` seed: frames back to back, a partial one, an oversized one.
fn frames() -> Vec<(&'static str, Vec<u8>)> {
    let framed = |payload: &[u8]| {
        let mut f = frame::header(payload.len(), frame::MAX_CONTROL_FRAME)
            .unwrap()
            .to_vec();
        f.extend_from_slice(payload);
        f
    };
    let ping = codec::encode(&Query::Ping).unwrap();
    vec![
        ("two", [framed(&ping), framed(b"bonjour")].concat()),
        ("partial", framed(b"bonjour")[..7].to_vec()),
        ("oversized", (1u32 << 30).to_be_bytes().to_vec()),
    ]
}

/// Whether a committed `message` seed reads as its selector says.
fn reads(bytes: &[u8]) -> bool {
    let (kind, rest) = bytes.split_first().unwrap();
    match kind {
        0 => codec::decode::<SignedQuery>(rest).is_ok(),
        1 => codec::decode::<QueryBody>(rest).is_ok(),
        2 => codec::decode::<Query>(rest).is_ok(),
        3 => codec::decode::<SignedReply>(rest).is_ok(),
        4 => codec::decode::<ReplyBody>(rest).is_ok(),
        5 => codec::decode::<Outcome>(rest).is_ok(),
        6 => codec::decode::<Answer>(rest).is_ok(),
        7 => codec::decode::<Refusal>(rest).is_ok(),
        8 => codec::decode::<NodeRequest>(rest).is_ok(),
        9 => codec::decode::<NodeResponse>(rest).is_ok(),
        10 => codec::decode::<ProbeReply>(rest).is_ok(),
        11 => codec::decode::<EnrollRequest>(rest).is_ok(),
        12 => codec::decode::<EnrollResponse>(rest).is_ok(),
        13 => codec::decode::<SignedConsent>(rest).is_ok(),
        14 => codec::decode::<Consent>(rest).is_ok(),
        15 => codec::decode::<DocSummary>(rest).is_ok(),
        16 => codec::decode::<Record>(rest).is_ok_and(|r| r.intact()),
        17 => codec::decode::<Event>(rest).is_ok(),
        18 => codec::decode::<DirectoryEntry>(rest).is_ok(),
        19 => codec::decode::<u16>(rest).is_ok(),
        20 => {
            NodeIdentity::from_der(rest).is_ok() || HubIdentity::from_der(rest).is_ok() || {
                Ca::check_certificate(rest).is_ok()
            }
        }
        _ => Token::parse(std::str::from_utf8(rest).unwrap()).is_ok(),
    }
}

#[test]
fn committed_seeds_are_real_encodings() {
    passerelle_certs::install_crypto_provider();
    if std::env::var("PASSERELLE_BLESS").as_deref() == Ok("1") {
        for (target, seeds) in [("message", messages()), ("frame", frames())] {
            std::fs::create_dir_all(corpus(target)).unwrap();
            for (name, bytes) in seeds {
                std::fs::write(corpus(target).join(format!("seed-{name}")), bytes).unwrap();
            }
        }
    }
    for (name, _) in messages() {
        let path = corpus("message").join(format!("seed-{name}"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            reads(&bytes),
            "{} does not read as its type",
            path.display()
        );
    }
    for (name, bytes) in frames() {
        let path = corpus("frame").join(format!("seed-{name}"));
        assert_eq!(std::fs::read(&path).ok(), Some(bytes), "{}", path.display());
    }
}
