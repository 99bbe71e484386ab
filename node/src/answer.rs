//! What a node says to one query: pure, so it is tested without sockets.
//! The link shell reads a frame, calls [`handle_payload`], signs the reply
//! and writes it; nothing else.

use passerelle_protocol::{
    aggregate::{AggregateAnswer, AggregateQuery},
    codec,
    envelope::{Outcome, QueryCheck, ReplyBody, SignedQuery},
    message::{Answer, NodeStatus, Query, Refusal},
    replay::NonceCache,
    sign::PublicKey,
    vault::{DocSummary, Pseudonym, Requester},
    UnixTime, PROTOCOL_VERSION,
};

/// What the node knows about itself, for status answers.
#[derive(Debug, Clone)]
pub struct SelfDescription {
    /// Institution named in the certificate.
    pub institution: String,
    /// Datasets held.
    pub datasets: Vec<String>,
    /// End of the certificate's validity.
    pub cert_not_after: UnixTime,
    /// Its directory entry, if it publishes one.
    pub directory: Option<passerelle_protocol::directory::DirectoryEntry>,
}

/// Where aggregate answers come from: the running node's store, or a test
/// double.
pub trait DataSource {
    /// Answers an aggregate query under the node's policy.
    ///
    /// # Errors
    /// The refusal to send back.
    fn aggregate(&self, query: &AggregateQuery) -> Result<AggregateAnswer, Refusal>;

    /// The documents a requester may see of a person (logged).
    ///
    /// # Errors
    /// The refusal to send back.
    fn documents(
        &self,
        _hub: &PublicKey,
        _person: &Pseudonym,
        _requester: &Requester,
        _now: UnixTime,
    ) -> Result<Vec<DocSummary>, Refusal> {
        Err(Refusal::Unavailable("this node keeps no documents".into()))
    }

    /// Decides on a document fetch (logged); the shell streams the bytes.
    ///
    /// # Errors
    /// The refusal to send back.
    fn fetch(
        &self,
        _hub: &PublicKey,
        _person: &Pseudonym,
        _document: &str,
        _requester: &Requester,
        _now: UnixTime,
    ) -> Result<DocSummary, Refusal> {
        Err(Refusal::Unavailable("this node keeps no documents".into()))
    }

    /// Records consents the hub says were revoked.
    ///
    /// # Errors
    /// The refusal to send back.
    fn revoke(&self, _ids: &[String], _now: UnixTime) -> Result<(), Refusal> {
        Err(Refusal::Unavailable("this node keeps no documents".into()))
    }

    /// Drops the link of a pseudonym (the person deleted their vault
    /// account or unlinked this institution), recorded in the audit chain.
    ///
    /// # Errors
    /// The refusal to send back.
    fn forget(&self, _person: &Pseudonym, _now: UnixTime) -> Result<(), Refusal> {
        Err(Refusal::Unavailable("this node keeps no links".into()))
    }

    /// The audit chain's length, last hash, and the hash of record `at`.
    ///
    /// # Errors
    /// The refusal to send back.
    fn audit_head(
        &self,
        _at: Option<u64>,
    ) -> Result<passerelle_protocol::audit::HeadCheck, Refusal> {
        Err(Refusal::Unavailable(
            "this node keeps no audit chain".into(),
        ))
    }

    /// Takes a head of the hub's audit chain the hub stated; returns the
    /// head the node keeps, for the hub to prove next time.
    ///
    /// # Errors
    /// The refusal to send back.
    fn hub_head(
        &self,
        _head: &passerelle_protocol::audit::HubHead,
        _now: UnixTime,
    ) -> Result<Option<u64>, Refusal> {
        Err(Refusal::Unavailable("this node keeps no hub heads".into()))
    }

    /// Which linked persons got documents after `after`, and where the
    /// next question starts.
    ///
    /// # Errors
    /// The refusal to send back.
    fn deposits_since(
        &self,
        _after: UnixTime,
        _now: UnixTime,
    ) -> Result<(Vec<passerelle_protocol::message::Deposit>, UnixTime), Refusal> {
        Err(Refusal::Unavailable("this node keeps no documents".into()))
    }

    /// Takes the network's trusted CA certificates (issuing one first).
    ///
    /// # Errors
    /// The refusal to send back.
    fn trust(&self, _cas: &[Vec<u8>], _now: UnixTime) -> Result<(), Refusal> {
        Err(Refusal::Unavailable(
            "this node does not manage its trust".into(),
        ))
    }
}

/// Handles the payload of one frame (already within the size limit) and
/// returns the reply to sign, with the query kind when the query was
/// accepted. Refusals are replies too: the hub learns why.
pub fn handle_payload(
    payload: &[u8],
    check: &QueryCheck<'_>,
    me: &SelfDescription,
    data: &dyn DataSource,
    now: UnixTime,
    seen: &mut NonceCache,
) -> (ReplyBody, Option<&'static str>) {
    let (query_id, outcome, kind) = match codec::decode::<SignedQuery>(payload) {
        Err(e) => (
            None,
            Outcome::Refused(Refusal::Malformed(e.to_string())),
            None,
        ),
        Ok(signed) => {
            let id = signed.unverified_id();
            match check.handle_query(&signed, now, seen) {
                Err(refusal) => (id, Outcome::Refused(refusal), None),
                Ok(body) => (
                    Some(body.query_id),
                    match answer(&body.query, check, me, data, now) {
                        Ok(a) => Outcome::Answered(a),
                        Err(r) => Outcome::Refused(r),
                    },
                    Some(body.query.kind()),
                ),
            }
        }
    };
    (
        ReplyBody {
            query_id,
            node_id: check.me.clone(),
            issued_at: now,
            outcome,
        },
        kind,
    )
}

/// The reply to a frame refused for its size, before reading its payload.
pub fn too_large(check: &QueryCheck<'_>, len: u32, max: u32, now: UnixTime) -> ReplyBody {
    ReplyBody {
        query_id: None,
        node_id: check.me.clone(),
        issued_at: now,
        outcome: Outcome::Refused(Refusal::FrameTooLarge { len, max }),
    }
}

fn answer(
    query: &Query,
    check: &QueryCheck<'_>,
    me: &SelfDescription,
    data: &dyn DataSource,
    now: UnixTime,
) -> Result<Answer, Refusal> {
    Ok(match query {
        Query::Ping => Answer::Pong,
        Query::Aggregate(q) => Answer::Aggregate(data.aggregate(q)?),
        Query::Documents { person, requester } => {
            Answer::Documents(data.documents(check.hub_key, person, requester, now)?)
        }
        Query::Fetch {
            person,
            document,
            requester,
        } => Answer::Document(data.fetch(check.hub_key, person, document, requester, now)?),
        Query::RevokedConsents(ids) => {
            data.revoke(ids, now)?;
            Answer::Noted
        }
        Query::Trust(cas) => {
            data.trust(cas, now)?;
            Answer::Noted
        }
        Query::Forget { person } => {
            data.forget(person, now)?;
            Answer::Noted
        }
        Query::AuditHead { at } => {
            let (records, hash, at_hash) = data.audit_head(*at)?;
            Answer::AuditHead {
                records,
                hash,
                at_hash,
            }
        }
        Query::HubHead(head) => Answer::HubHeadKept {
            want: data.hub_head(head, now)?,
        },
        Query::DepositsSince { after } => {
            let (deposits, until) = data.deposits_since(*after, now)?;
            Answer::Deposits { deposits, until }
        }
        Query::Directory => Answer::Directory(me.directory.clone().map(|mut d| {
            if d.name.trim().is_empty() {
                d.name = me.institution.clone();
            }
            Box::new(d)
        })),
        Query::Status => Answer::Status(NodeStatus {
            version: crate::VERSION.into(),
            protocol: PROTOCOL_VERSION,
            node_id: check.me.clone(),
            institution: me.institution.clone(),
            datasets: me.datasets.clone(),
            cert_not_after: me.cert_not_after,
            now,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_protocol::{envelope::QueryBody, ids::NodeId, sign::SigningKey};

    struct NoData;

    impl DataSource for NoData {
        fn aggregate(&self, q: &AggregateQuery) -> Result<AggregateAnswer, Refusal> {
            Err(Refusal::OutOfPolicy(format!(
                "dataset {} is not shared",
                q.dataset
            )))
        }
    }

    fn hub_key() -> SigningKey {
        let doc = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .unwrap();
        SigningKey::from_pkcs8(doc.as_ref()).unwrap()
    }

    #[test]
    fn answers_status_and_refuses_garbage_and_replays() {
        let hub = hub_key();
        let me = NodeId::new("caf-976").unwrap();
        let check = QueryCheck {
            hub_key: &hub.public(),
            me: &me,
            window_secs: 300,
        };
        let desc = SelfDescription {
            institution: "CAF".into(),
            datasets: vec!["rsa".into()],
            cert_not_after: 99,
            directory: None,
        };
        let mut seen = NonceCache::new(16);

        let body = QueryBody {
            query_id: [1; 16],
            issued_at: 1000,
            nonce: [2; 16],
            audience: passerelle_protocol::envelope::Audience::Node(me.clone()),
            query: Query::Status,
        };
        let wire = codec::encode(&SignedQuery::sign(&body, &hub).unwrap()).unwrap();
        let (reply, kind) = handle_payload(&wire, &check, &desc, &NoData, 1001, &mut seen);
        assert_eq!((reply.query_id, kind), (Some([1; 16]), Some("status")));
        match reply.outcome {
            Outcome::Answered(Answer::Status(s)) => {
                assert_eq!(
                    (s.institution.as_str(), s.datasets.len(), s.cert_not_after),
                    ("CAF", 1, 99)
                );
            }
            other => panic!("{other:?}"),
        }
        let (again, _) = handle_payload(&wire, &check, &desc, &NoData, 1002, &mut seen);
        assert_eq!(
            (again.query_id, again.outcome),
            (Some([1; 16]), Outcome::Refused(Refusal::Replayed))
        );

        let (junk, _) = handle_payload(b"\xff\xff\xff", &check, &desc, &NoData, 1002, &mut seen);
        assert!(matches!(
            junk.outcome,
            Outcome::Refused(Refusal::Malformed(_))
        ));
    }
}
