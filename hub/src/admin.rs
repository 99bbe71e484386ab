//! Requests other `passerelle-hub` commands send to a running hub, and the
//! same requests served straight from the store when none runs.

use std::path::Path;

use passerelle_link::{backup, now};
use passerelle_protocol::ids::NodeId;
use serde::{Deserialize, Serialize};

use passerelle_hub_core::error::RemoteError;
use passerelle_hub_core::{
    ops::{self, Hub, NodeRow, Revoked},
    paths::HubDir,
    registry::Registry,
    store::Store,
    HubError, Refusal,
};
use passerelle_observatory::{
    catalog::Indicator,
    refresh::{self as observatory, Verification},
    retention, IndicatorResult,
};

use crate::server::Ctx;

/// A request on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Issue an enrollment token.
    Enroll {
        /// Node id.
        node_id: NodeId,
        /// Institution.
        name: String,
    },
    /// The registry listing.
    Nodes,
    /// Revoke a node.
    Revoke {
        /// Node id.
        node_id: NodeId,
    },
    /// The catalog.
    Indicators,
    /// The latest result of an indicator, refreshed first if asked.
    Indicator {
        /// Indicator id.
        id: String,
        /// Recompose from the nodes now (needs the running hub).
        refresh: bool,
    },
    /// Check the provenance of an indicator's latest result.
    Verify {
        /// Indicator id.
        id: String,
    },
    /// The provenance bundle of an indicator's latest result: public, or
    /// with every signed answer for an auditor (`full`).
    Provenance {
        /// Indicator id.
        id: String,
        /// Every answer, not only what the portal publishes.
        full: bool,
    },
    /// Create a partner account.
    PartnerAdd {
        /// Login e-mail.
        email: String,
        /// Name.
        name: String,
        /// Institution (node id).
        institution: NodeId,
    },
    /// Every partner account.
    Partners,
    /// Forget a partner account's second factor (a lost phone); its
    /// sessions end.
    PartnerResetTotp {
        /// Login e-mail.
        email: String,
    },
    /// Delete a partner account.
    PartnerRemove {
        /// Login e-mail.
        email: String,
    },
    /// Professionals' first sign-ins with a provider, waiting.
    PartnerRequests,
    /// Approve a waiting request for an institution.
    PartnerApprove {
        /// The request's id.
        id: String,
        /// Institution (node id).
        institution: NodeId,
    },
    /// Refuse (remove) a waiting request.
    PartnerRefuse {
        /// The request's id.
        id: String,
    },
    /// Check the vault's audit chain (read record by record).
    AuditVerify,
    /// One page of the vault's audit chain, from a sequence number on: a
    /// chain of any size is listed page by page, each reply bounded.
    AuditPage {
        /// The first sequence number wanted.
        from: u64,
    },
    /// A consistent backup, taken while serving.
    Backup {
        /// Absolute path of the archive to write.
        to: std::path::PathBuf,
        /// Include the private keys (ca.key, hub.key).
        include_keys: bool,
    },
    /// Restore a backup (only when the hub is stopped).
    Restore {
        /// Absolute path of the archive.
        from: std::path::PathBuf,
    },
    /// Who may provide which dataset: decide, or list.
    Datasets(passerelle_hub_core::providers::Action),
    /// Directory entries for actors without a node: add, remove, list.
    Directory(passerelle_hub_core::actors::Action),
    /// Each indicator's history: in full, as summaries, drafts.
    HistoryStatus,
    /// Apply the history retention of hub.toml now.
    HistoryPrune,
    /// Write the checkable bundle of every result kept in full.
    HistoryExport {
        /// Absolute path of the folder.
        to: std::path::PathBuf,
        /// Only this indicator.
        indicator: Option<String>,
    },
}

/// A reply on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Response {
    /// The token text.
    Token(String),
    /// The registry.
    Nodes(Vec<NodeRow>),
    /// What revocation did.
    Revoked(Revoked),
    /// The catalog.
    Indicators(Vec<Indicator>),
    /// An indicator and its latest result (without the provenance bytes).
    Indicator(Indicator, Box<IndicatorResult>),
    /// A refresh kept as a draft (without the provenance bytes): the last
    /// published result stays.
    Drafted(Indicator, Box<passerelle_observatory::publish::Draft>),
    /// A successful verification.
    Verified(Verification),
    /// A provenance bundle (JSON text).
    Bundle(String),
    /// An account was created; its one-time initial password.
    Password(String),
    /// Partner accounts.
    Partners(Vec<PartnerRow>),
    /// Professionals' requests waiting.
    PartnerRequests(Vec<passerelle_hub_core::partners::oidc::Request>),
    /// A request approved: the account's e-mail.
    Approved(String),
    /// The audit chain's check: its head, or the first broken record.
    AuditCheck(Result<passerelle_protocol::audit::Head, passerelle_protocol::audit::Broken>),
    /// One page of the audit chain.
    AuditPage(passerelle_protocol::audit::Page),
    /// A backup written, or restored (with where the old store went).
    Backup(backup::Summary, Option<std::path::PathBuf>),
    /// Providers of datasets: decided, pending, or just changed.
    Providers(Vec<passerelle_hub_core::providers::ProviderRow>),
    /// The operator's directory entries: listed, or just changed.
    Actors(Vec<passerelle_hub_core::actors::ActorRow>),
    /// Each indicator's history.
    History(Vec<passerelle_observatory::retention::StatusRow>),
    /// What a pruning pass did.
    Pruned(passerelle_observatory::retention::Report),
    /// How many bundles were written.
    Exported(usize),
    /// Done.
    Done,
    /// The request failed: a typed refusal or a failure of a named kind.
    Error(RemoteError),
}

/// A partner account as `partner list` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartnerRow {
    /// Login e-mail.
    pub email: String,
    /// Name.
    pub name: String,
    /// Institution (node id).
    pub institution: String,
    /// When it was created.
    pub created_at: u64,
    /// Whether a second factor (TOTP) is enrolled.
    pub second_factor: bool,
    /// Whether the first password is still to be changed.
    pub password_to_change: bool,
}

/// Serves a request against a hub, with its live registry when running.
pub fn dispatch(
    hub: &Hub,
    catalog: &[Indicator],
    live: Option<&Registry>,
    req: Request,
) -> Response {
    let result = match req {
        Request::Enroll { node_id, name } => {
            ops::issue_token(hub, &node_id, &name, now()).map(Response::Token)
        }
        Request::Nodes => ops::node_rows(hub, live).map(Response::Nodes),
        Request::Revoke { node_id } => {
            ops::revoke(hub, live, &node_id, now()).map(Response::Revoked)
        }
        Request::Indicators => Ok(Response::Indicators(catalog.to_vec())),
        Request::HistoryStatus => retention::status(hub, catalog).map(Response::History),
        Request::HistoryPrune => {
            let dir = hub
                .config
                .history_archive
                .as_ref()
                .map(|d| hub.dir.root().join(d));
            retention::apply(
                hub,
                catalog,
                retention::Policy::of(&hub.config),
                dir.as_deref(),
                now(),
            )
            .map(Response::Pruned)
        }
        Request::HistoryExport { to, indicator } => {
            retention::export(hub, catalog, indicator.as_deref(), &to).map(Response::Exported)
        }
        Request::Datasets(action) => {
            passerelle_hub_core::providers::apply(&hub.store, action, now())
                .map(Response::Providers)
        }
        Request::Directory(action) => {
            passerelle_hub_core::actors::apply(&hub.store, action).map(Response::Actors)
        }
        Request::PartnerAdd {
            email,
            name,
            institution,
        } => passerelle_hub_core::partners::add(hub, &email, &name, &institution, now())
            .map(Response::Password),
        Request::Backup { to, include_keys } => backup(hub, &to, include_keys, live.is_some()),
        Request::Restore { .. } => Err(Refusal::NeedsStoppedHub {
            what: "restore".into(),
        }
        .into()),
        Request::AuditVerify => passerelle_vault::store::VaultStore::new(hub.store.clone())
            .audit_verify()
            .map(Response::AuditCheck),
        Request::AuditPage { from } => passerelle_vault::store::VaultStore::new(hub.store.clone())
            .audit_page(from)
            .map(Response::AuditPage),
        Request::Partners => hub.store.accounts().map(|list| {
            Response::Partners(
                list.into_iter()
                    .map(|a| PartnerRow {
                        second_factor: a.totp_enabled,
                        password_to_change: a.must_change_password,
                        email: a.email,
                        name: a.name,
                        institution: a.institution.to_string(),
                        created_at: a.created_at,
                    })
                    .collect(),
            )
        }),
        Request::PartnerResetTotp { email } => {
            passerelle_hub_core::partners::reset_totp(hub, &email).map(|()| Response::Done)
        }
        Request::PartnerRequests => {
            passerelle_hub_core::partners::oidc::list(hub).map(Response::PartnerRequests)
        }
        Request::PartnerApprove { id, institution } => {
            passerelle_hub_core::partners::oidc::approve(hub, &id, &institution, now())
                .map(Response::Approved)
        }
        Request::PartnerRefuse { id } => {
            passerelle_hub_core::partners::oidc::refuse(hub, &id).map(|()| Response::Done)
        }
        Request::PartnerRemove { email } => {
            match hub.store.remove_account(&email.trim().to_lowercase()) {
                Ok(true) => passerelle_hub_core::partners::oidc::forget(hub, &email)
                    .map(|()| Response::Done),
                Ok(false) => Err(Refusal::UnknownAccount { email }.into()),
                Err(e) => Err(e),
            }
        }
        Request::Indicator { refresh: true, .. } => Err(Refusal::NeedsRunningHub {
            what: "--refresh (it asks the nodes)".into(),
        }
        .into()),
        Request::Indicator { id, refresh: false } => {
            latest(hub, catalog, &id).map(|(ind, mut r)| {
                r.provenance.clear();
                Response::Indicator(ind, Box::new(r))
            })
        }
        Request::Verify { id } => latest(hub, catalog, &id)
            .and_then(|(ind, r)| {
                observatory::verify(
                    &[hub.trusted_cas.clone(), hub.retired_cas.clone()].concat(),
                    &ind,
                    &r,
                )
            })
            .map(Response::Verified),
        Request::Provenance { id, full } => latest(hub, catalog, &id).and_then(|(ind, r)| {
            use passerelle_provenance::bundle::{Kind, Scope};
            let kind = if full { Kind::Audit } else { Kind::Public };
            let b = passerelle_observatory::provenance::bundle(
                hub,
                &ind,
                &r,
                Scope::default(),
                kind,
                now(),
            )?;
            serde_json::to_string_pretty(&b)
                .map(Response::Bundle)
                .map_err(|e| {
                    HubError::from(Refusal::Verification {
                        indicator: id.clone(),
                        why: e.to_string(),
                    })
                })
        }),
    };
    result.unwrap_or_else(|e| Response::Error(e.into()))
}

fn latest(
    hub: &Hub,
    catalog: &[Indicator],
    id: &str,
) -> Result<(Indicator, IndicatorResult), HubError> {
    let ind = catalog
        .iter()
        .find(|i| i.id == id)
        .ok_or_else(|| HubError::from(Refusal::UnknownIndicator { id: id.to_string() }))?;
    let r = hub
        .store
        .latest_result(id)?
        .ok_or_else(|| HubError::from(Refusal::NotComputed { id: id.to_string() }))?;
    Ok((ind.clone(), r))
}

/// Serves a request in the running hub: refreshes ask the nodes.
pub async fn dispatch_live(ctx: &std::sync::Arc<Ctx>, req: Request) -> Response {
    match req {
        Request::Indicator { id, refresh: true } => {
            let Some(ind) = ctx.observatory.indicator(&id) else {
                return Response::Error(RemoteError::Refused(Refusal::UnknownIndicator { id }));
            };
            match observatory::refresh(&ctx.observatory, &ctx.fed, ind).await {
                Ok(passerelle_observatory::publish::Decision::Publish(mut r)) => {
                    r.provenance.clear();
                    Response::Indicator(ind.clone(), Box::new(r))
                }
                Ok(passerelle_observatory::publish::Decision::Draft(mut d)) => {
                    d.result.provenance.clear();
                    Response::Drafted(ind.clone(), Box::new(d))
                }
                Err(e) => Response::Error(e.into()),
            }
        }
        Request::PartnerResetTotp { email } => {
            let resp = dispatch(
                &ctx.hub,
                &ctx.observatory.catalog,
                Some(&ctx.registry),
                Request::PartnerResetTotp {
                    email: email.clone(),
                },
            );
            ctx.portal.sessions.close_all(&email.trim().to_lowercase());
            resp
        }
        Request::PartnerRemove { email } => {
            let resp = dispatch(
                &ctx.hub,
                &ctx.observatory.catalog,
                Some(&ctx.registry),
                Request::PartnerRemove {
                    email: email.clone(),
                },
            );
            ctx.portal.sessions.close_all(&email.trim().to_lowercase());
            resp
        }
        Request::Revoke { node_id } => {
            let resp = dispatch(
                &ctx.hub,
                &ctx.observatory.catalog,
                Some(&ctx.registry),
                Request::Revoke {
                    node_id: node_id.clone(),
                },
            );
            for a in ctx
                .hub
                .store
                .accounts()
                .unwrap_or_default()
                .iter()
                .filter(|a| a.institution == node_id)
            {
                ctx.portal.sessions.close_all(&a.email);
            }
            resp
        }
        // Store work (an audit check over a long chain, a backup) runs
        // off the runtime's threads, so the hub keeps serving meanwhile.
        other => {
            let ctx = ctx.clone();
            tokio::task::spawn_blocking(move || {
                dispatch(
                    &ctx.hub,
                    &ctx.observatory.catalog,
                    Some(&ctx.registry),
                    other,
                )
            })
            .await
            .unwrap_or_else(|e| {
                Response::Error(RemoteError::Failed {
                    kind: passerelle_hub_core::error::FailureKind::Io,
                    message: format!("the admin request did not finish: {e}"),
                })
            })
        }
    }
}

/// Sends a request to the hub serving `root`, or serves it from the store
/// when none runs.
///
/// # Errors
/// When the folder is not a hub folder, or the request fails.
pub async fn request(root: &Path, req: Request) -> Result<Response, HubError> {
    HubDir::existing(root)?;
    let resp = match passerelle_link::admin::call::<_, Response>(root, &req).await? {
        Some(resp) => resp,
        None if matches!(req, Request::Restore { .. }) => {
            let Request::Restore { from } = &req else {
                unreachable!()
            };
            restore(root, from)?
        }
        None => {
            let hub = Hub::open(root)?;
            let catalog = passerelle_observatory::catalog::load(hub.config.catalog_dir.as_deref())
                .map_err(|e| Refusal::BadFile {
                    what: "catalog".into(),
                    why: e.to_string(),
                })?;
            dispatch(&hub, &catalog, None, req)
        }
    };
    match resp {
        // A refusal is the same error whether a running hub or this
        // process served the request.
        Response::Error(RemoteError::Refused(r)) => Err(HubError::Refused(r)),
        Response::Error(e) => Err(HubError::Remote(e)),
        other => Ok(other),
    }
}

/// Writes a consistent backup: the store, the persons' sealed uploads, the
/// published resources, the configuration and certificates (the private
/// keys only if asked).
fn backup(hub: &Hub, to: &Path, include_keys: bool, _serving: bool) -> Result<Response, HubError> {
    let root = hub.dir.root().to_path_buf();
    let list = || {
        let mut out: backup::Extra = Vec::new();
        let mut names = vec!["hub.toml", "ca.crt", "hub.crt", "ca-retired.crt"];
        if include_keys {
            names.extend(["ca.key", "hub.key"]);
        }
        for name in names {
            if root.join(name).exists() {
                out.push((name.to_string(), root.join(name)));
            }
        }
        for folder in ["vault/uploads", "resources"] {
            let Ok(entries) = std::fs::read_dir(root.join(folder)) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_file() {
                    out.push((format!("{folder}/{}", e.file_name().to_string_lossy()), p));
                }
            }
        }
        Ok(out)
    };
    let summary = backup::backup("hub", &root, &hub.store, &list, to, now())?;
    Ok(Response::Backup(summary, None))
}

/// Restores a backup into a stopped hub's folder.
fn restore(root: &Path, from: &Path) -> Result<Response, HubError> {
    let dir = HubDir::existing(root)?;
    let staging = root.join(format!(".restore-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let summary = match backup::unpack(from, &staging, "hub", Store::open) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e.into());
        }
    };
    let aside = backup::install(root, &staging, &dir.store(), now())?;
    Ok(Response::Backup(summary, aside))
}
