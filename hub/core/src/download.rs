//! Documents streamed from a node through the hub: the signed `Fetch`
//! exchange, then the bytes, checked against the signed size and hash as
//! they arrive. A transfer that stops making progress ends with a typed
//! [`TransferError`] within the stall deadline, so a person's download
//! never hangs on a node that died or froze.

use std::time::Duration;

use passerelle_link::{now, random16, stream, LinkError};
use passerelle_protocol::{
    envelope::{Audience, Outcome, QueryBody, SignedQuery, SignedReply},
    frame::MAX_CONTROL_FRAME,
    message::{Answer, Query, Refusal},
    sign::SigningKey,
    vault::{DocSummary, Pseudonym, Requester},
};
use tracing::{info, warn};

use crate::{
    federation::{exchange_failed, spoken_by},
    registry::Live,
    HubError,
};

/// Why a document stopped on its way from the node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// Nothing arrived for the stall deadline.
    #[error("document {document}: nothing arrived for {} s", .after.as_secs_f32())]
    Stalled {
        /// The document.
        document: String,
        /// The deadline.
        after: Duration,
    },
    /// The stream or the connection broke (the node died, reset the
    /// stream, or its link was closed).
    #[error("document {document}: transfer cut: {why}")]
    Cut {
        /// The document.
        document: String,
        /// What QUIC said.
        why: String,
    },
    /// The stream ended before the announced size.
    #[error("document {document}: {got} of {size} bytes arrived")]
    Short {
        /// The document.
        document: String,
        /// Bytes received.
        got: u64,
        /// Bytes announced.
        size: u64,
    },
    /// More bytes than announced.
    #[error("document {document}: more bytes than announced")]
    TooLong {
        /// The document.
        document: String,
    },
    /// The bytes do not hash to the signed SHA-256.
    #[error("document {document}: content does not match the signed hash")]
    Mismatch {
        /// The document.
        document: String,
    },
}

impl TransferError {
    /// Whether the node stopped sending (rather than sending wrongly or
    /// being cut off): a gateway timeout, not a bad gateway.
    pub fn timed_out(&self) -> bool {
        matches!(self, Self::Stalled { .. })
    }
}

/// A document on its way from a node: its signed description, and the
/// stream its bytes follow on, checked as they arrive.
pub struct Incoming {
    /// What the node said it sends.
    pub doc: DocSummary,
    recv: quinn::RecvStream,
    stall: Duration,
    hasher: ring::digest::Context,
    got: u64,
    done: bool,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("doc", &self.doc.id)
            .field("got", &self.got)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// Asks a node for one document: the incoming stream, or the node's
/// refusal. `timeout` bounds the signed reply; `stall` then bounds each
/// wait for more bytes.
///
/// # Errors
/// When the exchange fails ([`HubError::TimedOut`] when the node did not
/// reply in time, [`HubError::Dead`] when its link was found silent) or
/// the reply does not verify.
pub async fn fetch(
    live: &Live,
    key: &SigningKey,
    person: Pseudonym,
    document: String,
    requester: Requester,
    timeout: Duration,
    stall: Duration,
) -> Result<Result<Incoming, Refusal>, HubError> {
    let node = live.identity.node_id.clone();
    let query = Query::Fetch {
        person,
        document,
        requester,
    };
    spoken_by(live, &query)?;
    let query_id = random16();
    let body = QueryBody {
        query_id,
        issued_at: now(),
        nonce: random16(),
        audience: Audience::Node(node.clone()),
        query,
    };
    let signed = SignedQuery::sign_version(&body, key, live.protocol())?;
    let work = async {
        let (mut send, mut recv) = live.conn.open_bi().await?;
        stream::write_message(&mut send, &signed, MAX_CONTROL_FRAME).await?;
        let reply: SignedReply = stream::read_message(&mut recv, MAX_CONTROL_FRAME).await?;
        Ok::<_, LinkError>((reply, recv))
    };
    let started = std::time::Instant::now();
    let replied = tokio::time::timeout(timeout, work)
        .await
        .unwrap_or(Err(LinkError::Timeout(timeout)))
        .map_err(|e| exchange_failed(live, e));
    if replied.is_err() {
        crate::metrics::global().query("fetch", "failed", started.elapsed().as_secs_f64());
    }
    let (reply, recv) = replied?;
    let body = reply
        .verify(&live.identity.public_key, &node, Some(&query_id))
        .map_err(|e| HubError::Node {
            node: node.to_string(),
            why: e.to_string(),
        })?;
    crate::metrics::global().query(
        "fetch",
        if matches!(body.outcome, Outcome::Answered(_)) {
            "answered"
        } else {
            "refused"
        },
        started.elapsed().as_secs_f64(),
    );
    Ok(match body.outcome {
        Outcome::Answered(Answer::Document(doc)) => {
            info!(node = %node, document = %doc.id, bytes = doc.size, "document streaming");
            Ok(Incoming {
                doc,
                recv,
                stall,
                hasher: ring::digest::Context::new(&ring::digest::SHA256),
                got: 0,
                done: false,
            })
        }
        Outcome::Refused(r) => {
            warn!(node = %node, refusal = r.kind(), reason = %r, "document refused by node");
            Err(r)
        }
        other => Err(Refusal::Malformed(format!("unexpected answer {other:?}"))),
    })
}

impl Incoming {
    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.got
    }

    fn fail(&mut self, e: TransferError) -> Option<Result<bytes::Bytes, TransferError>> {
        self.done = true;
        Some(Err(e))
    }

    /// The next piece of the document (up to 256 KiB, gathered from the
    /// QUIC stream's smaller pieces so the HTTP side writes few large
    /// records), checked at the end: the total must be the announced size
    /// and hash to the announced SHA-256. A wait longer than the stall
    /// deadline ends the transfer. `None` once it ended (well or not).
    pub async fn next_chunk(&mut self) -> Option<Result<bytes::Bytes, TransferError>> {
        const GATHER: usize = 256 * 1024;
        if self.done {
            return None;
        }
        let document = self.doc.id.clone();
        let mut buf = bytes::BytesMut::new();
        let mut ended = false;
        while buf.len() < GATHER {
            let read = self.recv.read_chunk(GATHER - buf.len(), true);
            match tokio::time::timeout(self.stall, read).await {
                Ok(Ok(Some(chunk))) => {
                    if buf.is_empty() && chunk.bytes.len() >= GATHER / 2 {
                        buf = chunk.bytes.into();
                    } else {
                        buf.extend_from_slice(&chunk.bytes);
                    }
                }
                Ok(Ok(None)) => {
                    ended = true;
                    break;
                }
                Ok(Err(e)) => {
                    let why = e.to_string();
                    return self.fail(TransferError::Cut { document, why });
                }
                Err(_) => {
                    let after = self.stall;
                    return self.fail(TransferError::Stalled { document, after });
                }
            }
        }
        self.got += buf.len() as u64;
        crate::metrics::global().document_bytes(buf.len() as u64);
        if self.got > self.doc.size {
            return self.fail(TransferError::TooLong { document });
        }
        self.hasher.update(&buf);
        if ended {
            self.done = true;
            if self.got != self.doc.size {
                let (got, size) = (self.got, self.doc.size);
                return self.fail(TransferError::Short {
                    document,
                    got,
                    size,
                });
            }
            if self.hasher.clone().finish().as_ref() != self.doc.sha256 {
                return self.fail(TransferError::Mismatch { document });
            }
            if buf.is_empty() {
                return None;
            }
        }
        Some(Ok(buf.freeze()))
    }

    /// Reads the whole document, checked.
    ///
    /// # Errors
    /// When it is cut short, stalls, is too long, or does not match its
    /// hash.
    pub async fn read_all(mut self) -> Result<Vec<u8>, TransferError> {
        let mut out = Vec::with_capacity(self.doc.size.min(64 << 20) as usize);
        while let Some(c) = self.next_chunk().await {
            out.extend_from_slice(&c?);
        }
        Ok(out)
    }
}
