//! The tamper-evident access log: a hash chain.
//!
//! Each record carries the hash of the one before it, and its own hash
//! covers every field and that link. Editing a record breaks its own hash;
//! recomputing that hash breaks the next record's link; removing a record
//! breaks the sequence. [`verify`] walks a chain and names the first broken
//! record. Pure: the hub and the node store records and call these.

use serde::{Deserialize, Serialize};

use crate::{codec, hex, sign::sha256, UnixTime};

/// The link before the first record.
pub const GENESIS: [u8; 32] = [0; 32];

/// What a record says happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Who acted: `person`, `professional:<login>@<node>`, `node:<id>`,
    /// `hub`, `operator:<user>`.
    pub actor: String,
    /// What was done: `list`, `download`, `download_refused`, `consent_grant`,
    /// `consent_revoke`, `duplicate`, `upload`, `delete`, `link`, ...
    pub action: String,
    /// The person concerned (hub person id or node pseudonym), if any.
    pub person: Option<String>,
    /// What was touched: a document, a consent, a duplicate code.
    pub subject: String,
    /// The procedure it was for, when there is one.
    pub procedure: Option<String>,
    /// Anything else worth keeping (a refusal reason).
    pub detail: String,
}

/// One record of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Position, from 0, without gaps.
    pub seq: u64,
    /// When it was recorded.
    pub at: UnixTime,
    /// What happened.
    pub event: Event,
    /// Hash of the previous record ([`GENESIS`] for the first).
    pub prev: [u8; 32],
    /// Hash of this record's fields and `prev`.
    pub hash: [u8; 32],
}

fn digest(seq: u64, at: UnixTime, event: &Event, prev: &[u8; 32]) -> [u8; 32] {
    let body = codec::encode(&(seq, at, event, prev)).expect("an audit event encodes");
    sha256(&[b"passerelle-audit-v1".as_slice(), &body].concat())
}

impl Record {
    /// The record that follows `prev` (or starts a chain).
    pub fn next(prev: Option<&Record>, at: UnixTime, event: Event) -> Self {
        let (seq, link) = prev.map_or((0, GENESIS), |p| (p.seq + 1, p.hash));
        Self {
            seq,
            at,
            hash: digest(seq, at, &event, &link),
            event,
            prev: link,
        }
    }

    /// Whether the record's own hash matches its fields.
    pub fn intact(&self) -> bool {
        digest(self.seq, self.at, &self.event, &self.prev) == self.hash
    }
}

/// Where and why a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("audit chain broken at record {seq}: {why}")]
pub struct Broken {
    /// The first record that does not check.
    pub seq: u64,
    /// Why.
    pub why: String,
}

/// What a node says of its chain for the hub's anchor: records, hash of
/// the last, and the hash of the record the hub asked about.
pub type HeadCheck = (u64, [u8; 32], Option<[u8; 32]>);

/// A chain that checks: how many records, and the hash of the last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Records checked.
    pub records: u64,
    /// Hash of the last record (hex), or of the genesis.
    pub hash: String,
}

/// Checks a whole chain, in order.
///
/// # Errors
/// [`Broken`] naming the first record that was edited, removed or moved.
pub fn verify(records: impl IntoIterator<Item = Record>) -> Result<Head, Broken> {
    let mut expected_seq = 0u64;
    let mut link = GENESIS;
    for r in records {
        if r.seq != expected_seq {
            return Err(Broken {
                seq: expected_seq,
                why: format!("record {expected_seq} is missing (next found is {})", r.seq),
            });
        }
        if r.prev != link {
            return Err(Broken {
                seq: r.seq,
                why: "it does not link to the record before it (a record was edited or removed)"
                    .into(),
            });
        }
        if !r.intact() {
            return Err(Broken {
                seq: r.seq,
                why: "its contents do not match its hash (the record was edited)".into(),
            });
        }
        link = r.hash;
        expected_seq += 1;
    }
    Ok(Head {
        records: expected_seq,
        hash: hex::encode(&link),
    })
}

/// Checks a chain read from a store, where a record may not even decode
/// (`Err(seq)`): that record is where the chain breaks.
///
/// # Errors
/// [`Broken`] naming the first bad record.
pub fn verify_decoded(records: Vec<Result<Record, u64>>) -> Result<Head, Broken> {
    let mut good = Vec::with_capacity(records.len());
    for r in records {
        match r {
            Ok(r) => good.push(r),
            Err(seq) => {
                // The records before it must still check.
                verify(good)?;
                return Err(Broken {
                    seq,
                    why: "it does not decode (the record was edited)".into(),
                });
            }
        }
    }
    verify(good)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: u64) -> Event {
        Event {
            actor: "person".into(),
            action: "download".into(),
            person: Some("p1".into()),
            subject: format!("doc-{i}"),
            procedure: Some("RSA".into()),
            detail: String::new(),
        }
    }

    fn chain(n: u64) -> Vec<Record> {
        let mut out: Vec<Record> = Vec::new();
        for i in 0..n {
            let r = Record::next(out.last(), 1000 + i, ev(i));
            out.push(r);
        }
        out
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        let head = verify(c.clone()).unwrap();
        assert_eq!(head.records, 5);
        assert_eq!(head.hash, hex::encode(&c[4].hash));
        assert_eq!(verify(Vec::new()).unwrap().records, 0);
    }

    #[test]
    fn edits_removals_and_rehashing_are_found() {
        let mut c = chain(5);
        c[2].event.subject = "doc-x".into();
        assert_eq!(verify(c.clone()).unwrap_err().seq, 2);
        // Recomputing the edited record's hash moves the break to the next.
        c[2].hash = digest(2, c[2].at, &c[2].event, &c[2].prev);
        assert_eq!(verify(c.clone()).unwrap_err().seq, 3);
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify(c).unwrap_err().seq, 1);
        let mut c = chain(5);
        c[4].at += 1;
        assert_eq!(verify(c).unwrap_err().seq, 4);
    }
}
