//! One stream the hub opened on the link: read the query within the read
//! deadline, answer it, log it, sign the reply and deliver it (with a
//! document's content when the reply grants one).

use super::*;

pub(super) async fn handle_stream(
    shared: Arc<Shared>,
    creds: Arc<Credentials>,
    hub_key: PublicKey,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) {
    let me = creds.identity.node_id.clone();
    let check = QueryCheck {
        hub_key: &hub_key,
        me: &me,
        window_secs: shared.config.link.clock_window.as_secs(),
    };
    let at = now();
    let Some((reply, kind)) = read_and_answer(&shared, &check, &mut recv, at).await else {
        return;
    };
    log_query(&shared, &reply, kind, at, &me);
    let signed = match SignedReply::sign(&reply, &creds.key) {
        Ok(s) => s,
        Err(error) => {
            warn!(%error, "cannot sign reply");
            return;
        }
    };
    deliver(&shared, &reply, &signed, &mut send).await;
}

/// Reads one query within the read deadline and answers it (the answer
/// unsigned, and the query's kind when it decoded). `None` when the hub
/// left the query unfinished: the stream is stopped, nothing is answered.
async fn read_and_answer(
    shared: &Shared,
    check: &QueryCheck<'_>,
    recv: &mut quinn::RecvStream,
    at: passerelle_protocol::UnixTime,
) -> Option<(ReplyBody, Option<&'static str>)> {
    // The whole query must arrive within the read deadline: a stream the
    // hub leaves unfinished holds nothing past it (others run beside it).
    let deadline = tokio::time::Instant::now() + stream::READ_DEADLINE;
    let mut header = [0u8; frame::HEADER_LEN];
    if !matches!(
        tokio::time::timeout_at(deadline, recv.read_exact(&mut header)).await,
        Ok(Ok(()))
    ) {
        let _ = recv.stop(1u32.into());
        return None;
    }
    Some(match frame::payload_len(header, MAX_CONTROL_FRAME) {
        Err(FrameError::TooLarge { len, max }) => {
            // Refused from the header alone: the payload is never read.
            let _ = recv.stop(1u32.into());
            (answer::too_large(check, len, max, at), None)
        }
        Err(FrameError::Empty) => (
            ReplyBody {
                query_id: None,
                node_id: check.me.clone(),
                issued_at: at,
                outcome: Outcome::Refused(Refusal::Malformed("empty frame".into())),
            },
            None,
        ),
        Ok(len) => {
            let mut payload = vec![0u8; len];
            if !matches!(
                tokio::time::timeout_at(deadline, recv.read_exact(&mut payload)).await,
                Ok(Ok(()))
            ) {
                let _ = recv.stop(1u32.into());
                return None;
            }
            let desc = shared.describe();
            let mut seen = shared.seen.lock().expect("nonce cache lock");
            answer::handle_payload(&payload, check, &desc, shared, at, &mut seen)
        }
    })
}

/// Logs a query's outcome, counts it in the metrics and keeps it in the
/// query log.
fn log_query(
    shared: &Shared,
    reply: &ReplyBody,
    kind: Option<&'static str>,
    at: passerelle_protocol::UnixTime,
    me: &passerelle_protocol::ids::NodeId,
) {
    let query_id = reply
        .query_id
        .map(|id| hex::encode(&id))
        .unwrap_or_else(|| "-".into());
    let span = info_span!("query", query_id = %query_id, node = %me, kind = kind.unwrap_or("-"));
    let _enter = span.enter();
    let (outcome, reason) = match &reply.outcome {
        Outcome::Answered(_) => {
            info!("query answered");
            ("answered".to_string(), String::new())
        }
        Outcome::Refused(r) => {
            warn!(refusal = r.kind(), reason = %r, "query refused");
            (r.kind().to_string(), r.to_string())
        }
    };
    crate::metrics::query(kind.unwrap_or("-"), &outcome);
    let record = QueryRecord {
        at,
        query_id,
        kind: kind.unwrap_or("-").into(),
        outcome,
        reason,
    };
    if let Err(error) = shared.store.record_query(&record) {
        warn!(%error, "query log not written");
    }
}

/// Sends the signed reply, then the document's content when the reply
/// grants one (the stream reset if the content cannot be read).
async fn deliver(
    shared: &Shared,
    reply: &ReplyBody,
    signed: &SignedReply,
    send: &mut quinn::SendStream,
) {
    let document = match &reply.outcome {
        Outcome::Answered(Answer::Document(d)) => Some(d.id.clone()),
        _ => None,
    };
    let delivered = match document {
        None => stream::write_message(send, signed, MAX_CONTROL_FRAME).await,
        Some(id) => match stream::write_frame(
            send,
            &codec::encode(signed).unwrap_or_default(),
            MAX_CONTROL_FRAME,
        )
        .await
        {
            Err(e) => Err(e),
            Ok(()) => match stream_document(shared, &id, send).await {
                Ok(()) => send
                    .finish()
                    .map_err(|e| passerelle_link::LinkError::Write(e.to_string())),
                Err(error) => {
                    warn!(%error, document = %id, "document not streamed");
                    let _ = send.reset(2u32.into());
                    return;
                }
            },
        },
    };
    if let Err(error) = delivered {
        warn!(%error, "reply not delivered");
    }
}

/// Streams a document's plaintext. A blocking task reads and opens the
/// sealed file a chunk at a time (off the async workers) and hands the
/// plaintext over a short channel; the hub checks the total against the
/// hash in the signed reply.
async fn stream_document(
    shared: &Shared,
    id: &str,
    send: &mut quinn::SendStream,
) -> Result<(), NodeError> {
    let doc = shared
        .store
        .document(id)?
        .ok_or_else(|| NodeError::Refused(format!("document {id} vanished")))?;
    let (mut opener, mut file) = crate::vault::open(&shared.files, &doc)?;
    let path = shared.files.sealed(id);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<bytes::Bytes>, NodeError>>(8);
    let reader = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let plan: Vec<usize> = crate::vault::chunk_plan(doc.size).collect();
        // Several sealed chunks per hand-over; each opened in place and
        // handed to QUIC as it is (no copy into a larger buffer).
        const BATCH: usize = 8;
        for (b, lens) in plan.chunks(BATCH).enumerate() {
            let mut out = Vec::with_capacity(lens.len());
            for (i, len) in lens.iter().enumerate() {
                let mut chunk = vec![0u8; len + passerelle_protocol::seal::TAG];
                let last = b * BATCH + i + 1 == plan.len();
                let opened = file
                    .read_exact(&mut chunk)
                    .map_err(|source| NodeError::Io {
                        path: path.clone(),
                        source,
                    })
                    .and_then(|()| {
                        opener
                            .open_chunk(&mut chunk, last)
                            .map_err(|e| NodeError::Refused(format!("document {}: {e}", doc.id)))
                    });
                if let Err(e) = opened {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
                if !chunk.is_empty() {
                    out.push(bytes::Bytes::from(chunk));
                }
            }
            if tx.blocking_send(Ok(out)).is_err() {
                return;
            }
        }
    });
    while let Some(pieces) = rx.recv().await {
        let mut pieces = pieces?;
        send.write_all_chunks(&mut pieces)
            .await
            .map_err(|e| NodeError::Link(passerelle_link::LinkError::Write(e.to_string())))?;
    }
    let _ = reader.await;
    Ok(())
}
