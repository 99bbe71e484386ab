//! Certificate renewal over the link: when it is due, the exchange with
//! the hub, and the watcher that runs beside each connection.

use super::*;

/// Whether the certificate should be renewed now: less than `margin` (or
/// half its life) left, or not issued by the CA that issues now.
pub fn renewal_due(creds: &Credentials, margin: u64, now: u64) -> bool {
    let id = &creds.identity;
    let life = id.not_after.saturating_sub(id.not_before);
    let left = id.not_after.saturating_sub(now);
    let stale_issuer = creds.cas.first().is_some_and(|issuing| {
        tls::verify_node_cert(std::slice::from_ref(issuing), &creds.cert_der, now).is_err()
    });
    left < margin.min(life / 2) || stale_issuer
}

/// Renews the certificate over `conn`: a new key made here, its CSR sent,
/// the certificate checked (this node, this key, a trusted CA) and
/// installed. The running connection keeps its old certificate.
async fn renew(shared: &Shared, conn: &quinn::Connection) -> Result<(), NodeError> {
    let creds = shared.creds();
    let req = passerelle_certs::ca::node_request(creds.identity.node_id.as_str())?;
    let reply: passerelle_protocol::message::NodeResponse = stream::exchange(
        conn,
        &passerelle_protocol::message::NodeRequest::Renew {
            csr_der: req.csr_der.clone(),
        },
        MAX_CONTROL_FRAME,
        std::time::Duration::from_secs(15),
    )
    .await?;
    let (cert_der, cas) = match reply {
        passerelle_protocol::message::NodeResponse::Renewed { cert_der, cas } => (cert_der, cas),
        passerelle_protocol::message::NodeResponse::Refused(why) => {
            return Err(NodeError::Refused(format!(
                "the hub refused to renew: {why}"
            )))
        }
        other => {
            return Err(NodeError::Refused(format!(
                "unexpected reply to renewal: {other:?}"
            )))
        }
    };
    let id = tls::verify_node_cert(&cas, &cert_der, now())?;
    let key = passerelle_protocol::sign::SigningKey::from_pkcs8(&req.key_pkcs8)
        .map_err(|e| NodeError::Refused(e.to_string()))?;
    if id.node_id != creds.identity.node_id || id.public_key != key.public() {
        return Err(NodeError::Refused(
            "the renewed certificate names another node or key".into(),
        ));
    }
    let dir = crate::paths::NodeDir::existing(&shared.root)?;
    Credentials::install(&dir, &req.key_pkcs8, &cert_der, &cas)?;
    shared.set_creds(Credentials::load(&dir)?);
    info!(serial = %id.serial, not_after = id.not_after, "certificate renewed");
    Ok(())
}

/// Renews when due; returns once a renewal succeeded.
pub(super) async fn renewal_watch(shared: &Shared, conn: &quinn::Connection) {
    loop {
        let creds = shared.creds();
        let margin = shared.config.link.renew_before.as_secs();
        if renewal_due(&creds, margin, now()) {
            match renew(shared, conn).await {
                Ok(()) => return,
                Err(error) => warn!(%error, "certificate renewal failed; retrying in a minute"),
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
                _ = shared.renew_now.notified() => {}
            }
            continue;
        }
        let id = &creds.identity;
        let due_at = id
            .not_after
            .saturating_sub(margin.min(id.not_after.saturating_sub(id.not_before) / 2));
        let wait = due_at.saturating_sub(now()).clamp(1, 3600);
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(wait)) => {}
            _ = shared.renew_now.notified() => {}
        }
    }
}
