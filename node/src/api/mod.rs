//! The integration API for business software (`api_listen` in
//! `node.toml`, off by default): a token pushes a file of its dataset, or
//! deposits a document for a person linked to a vault account. Described
//! by the OpenAPI 3 document served at `/openapi.json`.
//!
//! - Tokens ([`tokens`]) are made by the node administrator, scoped to one
//!   dataset or to deposits, and kept only as hashes.
//! - Bodies are streamed to a private folder under the node folder, never
//!   over [`MAX_FILE`] (datasets) or [`crate::vault::MAX_DOCUMENT`], then
//!   handed to the very functions `passerelle-node import` and `document
//!   add` use ([`crate::intake::import`], [`crate::vault::add`]).
//! - A client that presents unknown tokens [`MAX_FAILURES`] times in
//!   [`FAILURE_WINDOW`] is refused (429) until the window ends.
//! - Every use of a token is written in the node's audit chain (import,
//!   refused import, deposit, refusal outside the scope).

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Path as UrlPath, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use passerelle_config::NodeConfig;
use passerelle_link::now;
use passerelle_protocol::audit::Action;
use serde::Deserialize;
use serde_json::json;
use tokio::{io::AsyncWriteExt, net::TcpListener, sync::watch};

use crate::{
    actor::Actor,
    intake,
    store::Store,
    vault::{self, DocFiles},
    NodeError,
};

pub mod command;
pub mod tokens;

use tokens::{Scope, TokenRecord};

/// The OpenAPI 3 document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");
/// Largest dataset file accepted.
pub const MAX_FILE: u64 = 256 * 1024 * 1024;
/// Unknown tokens a client may present per window before it is refused.
pub const MAX_FAILURES: u32 = 10;
/// The window over which unknown tokens are counted.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Clients whose failures are remembered at once.
const MAX_CLIENTS: usize = 4096;
/// Where bodies are written while they arrive (under the node folder).
const INCOMING: &str = "api-incoming";

/// What the API needs from the node: nothing more.
#[derive(Clone)]
pub struct ApiState {
    config: Arc<NodeConfig>,
    store: Store,
    files: DocFiles,
    failures: Arc<Mutex<HashMap<IpAddr, (Instant, u32)>>>,
}

impl ApiState {
    /// The API of the node folder `root`, over its open store.
    pub fn new(root: &Path, config: NodeConfig, store: Store) -> Self {
        Self {
            config: Arc::new(config),
            store,
            files: DocFiles::new(root),
            failures: Arc::default(),
        }
    }

    fn root(&self) -> &Path {
        self.files.root()
    }

    /// Whether `ip` is over its failures; counts one more when `failed`.
    fn blocked(&self, ip: IpAddr, failed: bool) -> bool {
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = Instant::now();
        if map.len() >= MAX_CLIENTS {
            map.retain(|_, (since, _)| at.duration_since(*since) < FAILURE_WINDOW);
            if map.len() >= MAX_CLIENTS {
                // Flooded from many addresses: forget the oldest counts.
                map.clear();
            }
        }
        let entry = map.entry(ip).or_insert((at, 0));
        if at.duration_since(entry.0) >= FAILURE_WINDOW {
            *entry = (at, 0);
        }
        if failed {
            entry.1 = entry.1.saturating_add(1);
        }
        entry.1 >= MAX_FAILURES
    }
}

/// Every route the API serves (method, path as OpenAPI writes it).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/openapi.json"),
    ("post", "/api/v1/datasets/{dataset}/files"),
    ("post", "/api/v1/persons/{person}/documents"),
];

/// The API's router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route(
            "/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }),
        )
        .route("/api/v1/datasets/{dataset}/files", post(push_file))
        .route("/api/v1/persons/{person}/documents", post(deposit))
        .fallback(|| async {
            refusal(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; see /openapi.json".into(),
            )
        })
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// Binds `api_listen` when configured.
///
/// # Errors
/// When the address cannot be bound.
pub async fn bind(config: &NodeConfig) -> Result<Option<TcpListener>, NodeError> {
    let Some(addr) = config.api_listen else {
        return Ok(None);
    };
    TcpListener::bind(addr).await.map(Some).map_err(|source| NodeError::Io {
        path: format!("api_listen address {addr} (is another node running? else change api_listen in node.toml)").into(),
        source,
    })
}

/// Serves the API on `listener` until `stop` changes. Bodies an earlier
/// run left half received are removed first (never imported).
pub async fn serve(listener: TcpListener, state: ApiState, mut stop: watch::Receiver<bool>) {
    let _ = std::fs::remove_dir_all(state.root().join(INCOMING));
    let stop = async move {
        let _ = stop.changed().await;
    };
    passerelle_link::http::serve(
        listener,
        router(state),
        None,
        passerelle_link::http::Timeouts::default(),
        passerelle_link::http::Caps::default(),
        stop,
    )
    .await;
}

/// A JSON error: `{"error": CODE, "message": TEXT}`.
fn refusal(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

/// The token presented, checked against the kept hashes and the client's
/// failures.
fn authenticate(
    state: &ApiState,
    peer: IpAddr,
    headers: &HeaderMap,
) -> Result<TokenRecord, Box<Response>> {
    if state.blocked(peer, false) {
        return Err(Box::new(refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_failures",
            format!(
                "too many unknown tokens from this address; wait {} seconds",
                FAILURE_WINDOW.as_secs()
            ),
        )));
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 128);
    let kept = tokens::list(state.root()).map_err(|e| {
        tracing::warn!(error = %e, "API tokens unreadable");
        refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the node cannot read its tokens".into(),
        )
    })?;
    match presented.and_then(|p| tokens::find(&kept, p)) {
        Some(t) => Ok(t),
        None => {
            state.blocked(peer, true);
            tracing::warn!(%peer, "API request with an unknown or missing token");
            let mut r = refusal(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "give a token made by passerelle-node token add, as Authorization: Bearer TOKEN"
                    .into(),
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            Err(Box::new(r))
        }
    }
}

/// A known token asked for something outside its scope: refused, and
/// written in the audit chain.
fn out_of_scope(state: &ApiState, token: &TokenRecord, subject: &str, why: String) -> Response {
    let by = Actor::Token(token.name.clone());
    if let Err(e) = state
        .store
        .record(now(), &by, Action::ApiRefused, subject, &why)
    {
        return failure(e);
    }
    refusal(StatusCode::FORBIDDEN, "forbidden", why)
}

/// A node error as a reply: refusals and bad files say why (422),
/// anything else is the node's trouble (503), logged.
fn failure(e: NodeError) -> Response {
    match e {
        NodeError::Import(crate::data::import::ImportError::Rows { issues, total }) => {
            let issues: Vec<serde_json::Value> = issues
                .iter()
                .map(|i| json!({ "line": i.line, "column": i.column, "reason": i.problem.to_string() }))
                .collect();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({
                    "error": "import_refused",
                    "message": format!("{total} bad row(s), nothing imported"),
                    "issues": issues,
                })),
            )
                .into_response()
        }
        NodeError::Import(other) => refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            "import_refused",
            other.to_string(),
        ),
        NodeError::Refused(why) => refusal(StatusCode::UNPROCESSABLE_ENTITY, "refused", why),
        NodeError::Rule(r) => refusal(StatusCode::UNPROCESSABLE_ENTITY, "refused", r.to_string()),
        NodeError::Disk(d) => refusal(StatusCode::INSUFFICIENT_STORAGE, "disk_full", d.to_string()),
        other => {
            tracing::warn!(error = %other, "API request failed");
            refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the node could not complete the request; try again later".into(),
            )
        }
    }
}

/// A file name from the query: its last component, printable, bounded.
fn file_name(given: Option<&str>, default: &str) -> String {
    let name: String = given
        .and_then(|g| g.rsplit(['/', '\\']).next())
        .unwrap_or(default)
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    if name.is_empty() || name.starts_with('.') {
        default.to_string()
    } else {
        name
    }
}

/// Streams `body` to a fresh private folder as `name`, refusing past
/// `limit` bytes. The folder is removed when the guard drops.
async fn receive(
    state: &ApiState,
    body: Body,
    name: &str,
    limit: u64,
) -> Result<Incoming, Box<Response>> {
    use http_body_util::BodyExt;
    let base = state.root().join(INCOMING);
    let dir = base.join(passerelle_protocol::hex::encode(
        &passerelle_link::random16(),
    ));
    let made = passerelle_link::create_private_dir(&base)
        .and_then(|()| passerelle_link::create_private_dir(&dir));
    if let Err(e) = made {
        return Err(Box::new(failure(NodeError::Io {
            path: dir,
            source: e,
        })));
    }
    let incoming = Incoming { dir };
    let path = incoming.dir.join(name);
    let mut file = tokio::fs::File::create(&path).await.map_err(|e| {
        failure(NodeError::Io {
            path: path.clone(),
            source: e,
        })
    })?;
    let mut body = body;
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            refusal(
                StatusCode::BAD_REQUEST,
                "bad_body",
                "the body ended early".into(),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            total += data.len() as u64;
            if total > limit {
                return Err(Box::new(refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("over the limit of {limit} bytes"),
                )));
            }
            file.write_all(&data).await.map_err(|e| {
                failure(NodeError::Io {
                    path: path.clone(),
                    source: e,
                })
            })?;
        }
    }
    file.sync_all().await.map_err(|e| {
        failure(NodeError::Io {
            path: path.clone(),
            source: e,
        })
    })?;
    Ok(incoming)
}

/// A request's body on disk, removed with its folder when dropped.
struct Incoming {
    dir: PathBuf,
}

impl Drop for Incoming {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `?name=` on uploads.
#[derive(Debug, Deserialize)]
struct FileQuery {
    name: Option<String>,
}

/// `POST /api/v1/datasets/{dataset}/files`: the body is a CSV file,
/// imported as a new batch (all or nothing).
async fn push_file(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    UrlPath(dataset): UrlPath<String>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let token = match authenticate(&state, peer.ip(), &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    if token.scope != Scope::Dataset(dataset.clone()) {
        return out_of_scope(
            &state,
            &token,
            &dataset,
            format!(
                "token {} ({}) may not push files of dataset {dataset}",
                token.name, token.scope
            ),
        );
    }
    let name = file_name(q.name.as_deref(), "fichier.csv");
    let incoming = match receive(&state, body, &name, MAX_FILE).await {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let path = incoming.dir.join(&name);
    let by = Actor::Token(token.name.clone());
    let task = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            let result = intake::import(&state.config, &state.store, &dataset, &path, &by, now());
            drop(incoming);
            result
        })
    };
    match task.await {
        Ok(Ok(meta)) => (
            StatusCode::CREATED,
            Json(json!({
                "batch": meta.id,
                "dataset": meta.dataset,
                "rows": meta.rows,
                "sha256": meta.sha256,
                "status": if meta.status == crate::store::BatchStatus::Active { "active" } else { "pending" },
            })),
        )
            .into_response(),
        Ok(Err(e)) => failure(e),
        Err(_) => refusal(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the import stopped".into()),
    }
}

/// `?category=&name=` on deposits.
#[derive(Debug, Deserialize)]
struct DepositQuery {
    category: String,
    name: Option<String>,
}

/// `POST /api/v1/persons/{person}/documents?category=CODE`: the body is a
/// PDF, JPEG or PNG deposited for a person linked to a vault account.
async fn deposit(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    UrlPath(person): UrlPath<String>,
    query: Result<Query<DepositQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let token = match authenticate(&state, peer.ip(), &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    if token.scope != Scope::Deposit {
        return out_of_scope(
            &state,
            &token,
            "deposit",
            format!(
                "token {} ({}) may not deposit documents",
                token.name, token.scope
            ),
        );
    }
    let Ok(Query(q)) = query else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "give ?category=CODE (and optionally &name=FILE)".into(),
        );
    };
    if let Err(e) = vault::check_local_id(&person) {
        return failure(e);
    }
    match state.store.link(&person) {
        Ok(Some(_)) => {}
        Ok(None) => {
            let why = format!("person {person} is not linked to a vault account: link the record first (passerelle-node link)");
            let by = Actor::Token(token.name.clone());
            if let Err(e) = state
                .store
                .record(now(), &by, Action::ApiRefused, &person, &why)
            {
                return failure(e);
            }
            return refusal(StatusCode::CONFLICT, "not_linked", why);
        }
        Err(e) => return failure(e),
    }
    let name = file_name(q.name.as_deref(), "document");
    let incoming = match receive(&state, body, &name, vault::MAX_DOCUMENT).await {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let path = incoming.dir.join(&name);
    let by = Actor::Token(token.name.clone());
    let task = tokio::task::spawn_blocking(move || {
        let result = vault::add(
            &state.files,
            &state.store,
            &person,
            &q.category,
            &path,
            &by.to_string(),
            now(),
        );
        drop(incoming);
        result
    });
    match task.await {
        Ok(Ok(doc)) => (
            StatusCode::CREATED,
            Json(json!({
                "id": doc.id,
                "category": doc.category.code(),
                "name": doc.name,
                "mime": doc.mime,
                "size": doc.size,
                "sha256": passerelle_protocol::hex::encode(&doc.sha256),
            })),
        )
            .into_response(),
        Ok(Err(e)) => failure(e),
        Err(_) => refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the deposit stopped".into(),
        ),
    }
}
