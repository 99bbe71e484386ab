//! The web portal (French). For now its home page shows the state of the
//! partner network; the observatory and the vault add their pages here.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{Html, IntoResponse},
    routing::get,
    Router,
};
use tokio::{net::TcpListener, sync::watch};

use crate::server::Ctx;

/// The router.
pub fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(ctx)
}

async fn security_headers(mut res: axum::response::Response) -> axum::response::Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// Serves the portal until the hub stops.
pub async fn serve(ctx: Arc<Ctx>, listener: TcpListener, mut stop: watch::Receiver<bool>) {
    let app = router(ctx);
    let shutdown = async move {
        let _ = stop.changed().await;
    };
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::warn!(%error, "portal stopped");
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn home(State(ctx): State<Arc<Ctx>>) -> impl IntoResponse {
    let enrolled = ctx
        .hub
        .store
        .nodes()
        .map(|n| n.iter().filter(|n| n.revoked_at.is_none()).count())
        .unwrap_or(0);
    let connected = ctx.registry.connected().len();
    let banner = if ctx.demo {
        r#"<p class="demo" role="note"><strong>Démonstration :</strong> les partenaires et les données affichés sont fictifs.</p>"#
    } else {
        ""
    };
    Html(format!(
        r#"<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Passerelle — Observatoire social de Mayotte</title>
<style>
body{{font-family:system-ui,sans-serif;margin:0 auto;max-width:42rem;padding:1rem;line-height:1.5;color:#1a1a1a}}
.demo{{background:#fff3cd;border:2px solid #b8860b;padding:.75rem;border-radius:.5rem}}
.etat{{font-size:1.25rem}}
</style>
</head>
<body>
<header><h1>Passerelle</h1><p>Observatoire social et médico-social de Mayotte</p></header>
<main>
{banner}
<h2>Réseau des partenaires</h2>
<p class="etat">{connected} partenaire(s) connecté(s) sur {enrolled} inscrit(s).</p>
<p>Chaque partenaire garde ses données chez lui. Le réseau ne publie que des chiffres agrégés, jamais de données sur une personne.</p>
</main>
<footer><p>Service de la {name}.</p></footer>
</body>
</html>"#,
        name = escape(&ctx.hub.config.name),
    ))
}
