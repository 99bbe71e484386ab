//! Every message decoded from bytes off the wire: the first byte picks the
//! type, the rest is the payload. Decoding gives a value or an error, never
//! a panic; a decoded value encodes and decodes back to the same bytes.
//! Signed envelopes also have their inner body decoded, and DER
//! certificates carried in messages are read as the hub and node read them.

#![no_main]

use libfuzzer_sys::fuzz_target;
use passerelle_certs::identity::{self, HubIdentity, NodeIdentity};
use passerelle_protocol::{
    audit, codec,
    directory::DirectoryEntry,
    enroll::{EnrollRequest, EnrollResponse, Token},
    envelope::{Outcome, QueryBody, ReplyBody, SignedQuery, SignedReply},
    message::{Answer, NodeRequest, NodeResponse, ProbeReply, Query, Refusal},
    vault::{Consent, DocSummary, SignedConsent},
};
use serde::{de::DeserializeOwned, Serialize};

/// Decodes `bytes` as `T`; when it decodes, checks the round trip.
fn decode<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let value: T = codec::decode(bytes).ok()?;
    let once = codec::encode(&value).expect("a decoded value encodes");
    let again: T = codec::decode(&once).expect("an encoded value decodes");
    assert_eq!(codec::encode(&again).expect("encodes"), once);
    Some(value)
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 22 {
        0 => {
            if let Some(q) = decode::<SignedQuery>(bytes) {
                let _ = q.unverified_id();
                let _ = codec::decode::<QueryBody>(&q.body);
            }
        }
        1 => drop(decode::<QueryBody>(bytes)),
        2 => {
            if let Some(q) = decode::<Query>(bytes) {
                let _ = (q.since(), q.kind());
            }
        }
        3 => {
            if let Some(r) = decode::<SignedReply>(bytes) {
                let _ = codec::decode::<ReplyBody>(&r.body);
            }
        }
        4 => drop(decode::<ReplyBody>(bytes)),
        5 => drop(decode::<Outcome>(bytes)),
        6 => drop(decode::<Answer>(bytes)),
        7 => {
            if let Some(r) = decode::<Refusal>(bytes) {
                let _ = (r.kind(), r.to_string());
            }
        }
        8 => drop(decode::<NodeRequest>(bytes)),
        9 => drop(decode::<NodeResponse>(bytes)),
        10 => drop(decode::<ProbeReply>(bytes)),
        11 => drop(decode::<EnrollRequest>(bytes)),
        12 => drop(decode::<EnrollResponse>(bytes)),
        13 => {
            if let Some(c) = decode::<SignedConsent>(bytes) {
                let _ = codec::decode::<Consent>(&c.body);
            }
        }
        14 => drop(decode::<Consent>(bytes)),
        15 => drop(decode::<DocSummary>(bytes)),
        16 => {
            if let Some(r) = decode::<audit::Record>(bytes) {
                let _ = r.intact();
            }
        }
        17 => drop(decode::<audit::Event>(bytes)),
        18 => {
            if let Some(e) = decode::<DirectoryEntry>(bytes) {
                let _ = e.problems();
            }
        }
        // The protocol version a node announces after enrollment.
        19 => drop(decode::<u16>(bytes)),
        20 => {
            let _ = NodeIdentity::from_der(bytes);
            let _ = HubIdentity::from_der(bytes);
            let _ = identity::validity(bytes);
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(bytes) {
                if let Ok(t) = Token::parse(text) {
                    assert_eq!(Token::parse(&t.encode()).ok(), Some(t));
                }
            }
        }
    }
});
