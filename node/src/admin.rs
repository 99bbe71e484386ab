//! Requests `passerelle-node` commands send to a running node, and the
//! status report they share with the stopped case.

use passerelle_config::NodeConfig;
use passerelle_link::{backup, now};
use passerelle_protocol::UnixTime;
use serde::{Deserialize, Serialize};

use passerelle_protocol::{
    audit::{self, Event},
    frame::MAX_CONTROL_FRAME,
    message::{ConsentGiven, NodeRequest, NodeResponse},
};

use crate::{
    actor::Actor,
    agents, batches,
    identity::Credentials,
    paths::NodeDir,
    refusal::Refusal,
    serve::{LinkState, Shared},
    store::vault::{DocRecord, Link},
    store::{BatchMeta, BatchStatus, QueryRecord, Store},
    vault::{self, DocFiles},
    NodeError, RemoteError,
};

/// A request on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// The status report.
    Status,
    /// Import a file (read by the running node) as a batch.
    Import {
        /// Dataset.
        dataset: String,
        /// Absolute path of the CSV file.
        path: std::path::PathBuf,
        /// Who imports.
        by: String,
    },
    /// Validate a pending batch.
    Validate {
        /// Batch id.
        batch: u64,
        /// Who validates.
        by: String,
    },
    /// Every batch.
    Batches,
    /// Link a local record to a person's vault account (asks the hub).
    Link {
        /// The institution's id for the person.
        local_id: String,
        /// The one-time code the person shows.
        code: String,
        /// Who links.
        by: String,
    },
    /// Add a document about a person.
    DocumentAdd {
        /// The institution's id for the person.
        local_id: String,
        /// Category code.
        category: String,
        /// Absolute path of the file.
        path: std::path::PathBuf,
        /// Who adds.
        by: String,
    },
    /// Remove a document.
    DocumentRemove {
        /// Document id.
        id: String,
        /// Who removes.
        by: String,
    },
    /// Documents, of one person or all.
    Documents {
        /// The institution's id for the person.
        local_id: Option<String>,
    },
    /// Check the audit chain (read record by record).
    AuditVerify,
    /// One page of the audit chain, from a sequence number on: a chain of
    /// any size is listed page by page, each reply bounded.
    AuditPage {
        /// The first sequence number wanted.
        from: u64,
    },
    /// Read back the whole store (for doctor).
    CheckStore,
    /// The heads of the hub's audit chain this node keeps, and any
    /// divergence found.
    HubHeads,
    /// Partial and orphan document files left by interrupted deposits
    /// (for doctor); with `remove`, remove them.
    Debris {
        /// Remove them (`doctor --clean`).
        remove: bool,
    },
    /// A consistent backup, taken while serving.
    Backup {
        /// Absolute path of the archive to write.
        to: std::path::PathBuf,
        /// Include the private keys (node.key, documents.key).
        include_keys: bool,
    },
    /// Restore a backup (only when the node is stopped).
    Restore {
        /// Absolute path of the archive.
        from: std::path::PathBuf,
    },
    /// Reject a pending batch.
    Reject {
        /// Batch id.
        batch: u64,
        /// Why.
        reason: String,
        /// Who rejects.
        by: String,
    },
    /// Withdraw the latest batch in force of a dataset; the batches before
    /// it are in force again.
    Rollback {
        /// Dataset.
        dataset: String,
        /// Who withdraws it.
        by: String,
    },
    /// Create a console agent.
    AgentAdd {
        /// Login.
        login: String,
        /// Name.
        name: String,
        /// Role codes.
        roles: Vec<String>,
        /// Who creates it.
        by: String,
    },
    /// Every console agent.
    Agents,
    /// Remove a console agent.
    AgentRemove {
        /// Login.
        login: String,
        /// Who removes it.
        by: String,
    },
    /// Give a console agent a new first password.
    AgentReset {
        /// Login.
        login: String,
        /// Who resets it.
        by: String,
    },
    /// Make an integration API token.
    TokenAdd {
        /// Its name.
        name: String,
        /// `dataset:NAME` or `deposit`.
        scope: String,
        /// Who makes it.
        by: String,
    },
    /// Remove an integration API token.
    TokenRemove {
        /// Its name.
        name: String,
        /// Who removes it.
        by: String,
    },
}

/// A reply on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Response {
    /// The status report.
    Status(StatusReport),
    /// A batch imported or validated.
    Batch(BatchMeta),
    /// Debris found, or removed.
    Debris(crate::debris::NodeDebris),
    /// Every batch, newest first, with the periods it is in force for.
    Batches(Vec<crate::store::BatchState>),
    /// A link made.
    Linked(Link),
    /// A document added or removed.
    Document(DocRecord),
    /// Documents.
    Documents(Vec<DocRecord>),
    /// The audit chain's check: its head, or the first broken record.
    AuditCheck(Result<audit::Head, audit::Broken>),
    /// One page of the audit chain.
    AuditPage(audit::Page),
    /// Problems found in the store; none when sound.
    Problems(Vec<String>),
    /// Heads of the hub's chain kept (newest first) and the divergence.
    HubHeads(
        Vec<crate::store::hub_heads::HubHeadRecord>,
        Option<crate::store::hub_heads::Divergence>,
    ),
    /// A backup written, or restored (with where the old store went).
    Backup(backup::Summary, Option<std::path::PathBuf>),
    /// The request failed: its kind and description.
    Error(RemoteError),
    /// A batch withdrawn, and what is in force instead.
    RolledBack(crate::store::RolledBack),
    /// An agent's first password (printed once).
    AgentPassword {
        /// Login.
        login: String,
        /// The password, to change at the first sign-in.
        password: String,
    },
    /// The console agents.
    Agents(Vec<crate::agents::AgentSummary>),
    /// A token made: what is kept, and the token (printed once).
    Token {
        /// What is kept.
        record: crate::api::tokens::TokenRecord,
        /// The token.
        token: String,
    },
    /// A token removed.
    TokenRemoved(crate::api::tokens::TokenRecord),
    /// Done.
    Done,
}

/// The audit chain as `audit` commands show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditReport {
    /// The check: the head of an intact chain, or the first broken record.
    pub check: Result<audit::Head, audit::Broken>,
    /// Every record that decodes, oldest first.
    pub records: Vec<audit::Record>,
}

/// What `passerelle-node status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Node id.
    pub node_id: String,
    /// Institution.
    pub institution: String,
    /// Hub address.
    pub hub: String,
    /// Whether `serve` is running.
    pub running: bool,
    /// The link, when running.
    pub link: Option<LinkState>,
    /// End of certificate validity.
    pub cert_not_after: UnixTime,
    /// Datasets with data in force.
    pub datasets: Vec<String>,
    /// Batches waiting for validation.
    pub pending: Vec<BatchMeta>,
    /// Most recent queries, newest first.
    pub recent_queries: Vec<QueryRecord>,
    /// Why storage is degraded (writes failing), when it is.
    #[serde(default)]
    pub storage_degraded: Option<String>,
}

const RECENT: usize = 10;

fn report(
    creds: &Credentials,
    hub: String,
    store: &Store,
    link: Option<LinkState>,
) -> Result<StatusReport, NodeError> {
    Ok(StatusReport {
        node_id: creds.identity.node_id.to_string(),
        institution: creds.identity.institution.clone(),
        hub,
        running: link.is_some(),
        link,
        cert_not_after: creds.identity.not_after,
        datasets: store.datasets()?,
        pending: store
            .batches()?
            .into_iter()
            .filter(|b| b.status == BatchStatus::Pending)
            .collect(),
        recent_queries: store.recent_queries(RECENT)?,
        storage_degraded: store.health().degraded().map(|d| d.reason),
    })
}

/// Answers an admin request from the running node.
pub async fn handle(shared: &Shared, req: Request) -> Response {
    let result = match req {
        Request::Link { local_id, code, by } => link(shared, &local_id, &code, &by)
            .await
            .map(Response::Linked),
        Request::Status => report(
            &shared.creds(),
            shared.config.hub.to_string(),
            &shared.store,
            Some(shared.link()),
        )
        .map(Response::Status),
        Request::Restore { .. } => Err(NodeError::Refused(
            "stop the node first (systemctl stop passerelle-node, or Ctrl-C on serve), then restore".into(),
        )),
        Request::Backup { to, include_keys } => {
            backup(&shared.files, &shared.store, &to, include_keys).map(|s| Response::Backup(s, None))
        }
        Request::Debris { remove } => {
            crate::debris::answer(&shared.files, &shared.store, remove, &shared.debris)
                .map(Response::Debris)
        }
        other => dispatch(&shared.config, &shared.store, &shared.files, other),
    };
    result.unwrap_or_else(|e| Response::Error(e.into()))
}

/// The data requests, the same whether the node runs or not.
fn dispatch(
    config: &NodeConfig,
    store: &Store,
    files: &DocFiles,
    req: Request,
) -> Result<Response, NodeError> {
    match req {
        Request::Link { .. } => Err(Refusal::NeedsRunningNode.into()),
        Request::DocumentAdd {
            local_id,
            category,
            path,
            by,
        } => vault::add(files, store, &local_id, &category, &path, &by, now())
            .map(Response::Document),
        Request::DocumentRemove { id, by } => {
            vault::remove(files, store, &id, &by, now()).map(Response::Document)
        }
        Request::Documents { local_id } => match local_id {
            Some(id) => store.documents_of(&id),
            None => store.all_documents(),
        }
        .map(Response::Documents),
        Request::CheckStore => store.check(files).map(Response::Problems),
        Request::HubHeads => store
            .hub_heads(crate::store::hub_heads::MAX_HEADS)
            .map(|(heads, diverged)| Response::HubHeads(heads, diverged)),
        Request::Debris { remove } => {
            crate::debris::answer(files, store, remove, &Default::default()).map(Response::Debris)
        }
        Request::Backup { to, include_keys } => {
            backup(files, store, &to, include_keys).map(|s| Response::Backup(s, None))
        }
        Request::Restore { .. } => Err(NodeError::Refused(
            "restore is done with the store closed".into(),
        )),
        Request::AuditVerify => store.audit_verify().map(Response::AuditCheck),
        Request::AuditPage { from } => store.audit_page(from).map(Response::AuditPage),
        Request::Import { dataset, path, by } => {
            batches::import_file(config, store, &dataset, &path, &by, now(), &mut |_| {})
                .map(Response::Batch)
        }
        Request::Validate { batch, by } => {
            batches::validate(store, batch, &by, now()).map(Response::Batch)
        }
        Request::Reject { batch, reason, by } => {
            batches::reject(store, batch, &reason, &by, now()).map(Response::Batch)
        }
        Request::Rollback { dataset, by } => {
            batches::rollback(config, store, &dataset, &by, now()).map(Response::RolledBack)
        }
        Request::AgentAdd {
            login,
            name,
            roles,
            by,
        } => agents::add(store, &login, &name, &roles, &by, now()).map(|password| {
            Response::AgentPassword {
                login: agents::check_login(&login).unwrap_or(login),
                password,
            }
        }),
        Request::Agents => agents::list(store).map(Response::Agents),
        Request::AgentRemove { login, by } => {
            agents::remove(store, &login, &by, now()).map(|()| Response::Done)
        }
        Request::AgentReset { login, by } => {
            agents::reset(store, &login, &by, now()).map(|password| Response::AgentPassword {
                login: agents::check_login(&login).unwrap_or(login),
                password,
            })
        }
        Request::TokenAdd { name, scope, by } => {
            crate::api::tokens::add_recorded(config, store, files.root(), &name, &scope, &by, now())
                .map(|(record, token)| Response::Token { record, token })
        }
        Request::TokenRemove { name, by } => {
            crate::api::tokens::remove_recorded(store, files.root(), &name, &by, now())
                .map(Response::TokenRemoved)
        }
        Request::Batches => store.batch_states().map(Response::Batches),
        Request::Status => Err(NodeError::Refused(
            "status is answered by the caller".into(),
        )),
    }
}

/// Sends a data request to the running node, or serves it from the store
/// when none runs. `progress` is used only when serving directly.
///
/// # Errors
/// When the folder is not a node folder or the request fails.
pub async fn request(
    root: &std::path::Path,
    req: Request,
    progress: &mut dyn FnMut(u64),
) -> Result<Response, NodeError> {
    let dir = NodeDir::existing(root)?;
    let resp = match passerelle_link::admin::call::<_, Response>(root, &req).await? {
        Some(resp) => resp,
        None => {
            if let Request::Restore { from } = &req {
                return restore(&dir, from);
            }
            let config = NodeConfig::load(&dir.config())?;
            let store = Store::open(&dir.store())?;
            match req {
                Request::Import { dataset, path, by } => {
                    batches::import_file(&config, &store, &dataset, &path, &by, now(), progress)
                        .map(Response::Batch)?
                }
                other => dispatch(&config, &store, &DocFiles::new(root), other)?,
            }
        }
    };
    match resp {
        Response::Error(e) => Err(NodeError::Remote(e)),
        other => Ok(other),
    }
}

/// The audit chain's check and every record that decodes, asked page by
/// page (from the running node, or from the store when none runs).
///
/// # Errors
/// When the folder is not a node folder or a request fails.
pub async fn audit_report(root: &std::path::Path) -> Result<AuditReport, NodeError> {
    let unexpected = || {
        NodeError::Refused(
            "the running node gave an unexpected reply: are the node and this command the same version?"
                .into(),
        )
    };
    let Response::AuditCheck(check) = request(root, Request::AuditVerify, &mut |_| {}).await?
    else {
        return Err(unexpected());
    };
    let records = passerelle_protocol::audit::Page::all(|at| async move {
        match request(root, Request::AuditPage { from: at }, &mut |_| {}).await? {
            Response::AuditPage(page) => Ok(page),
            _ => Err(unexpected()),
        }
    })
    .await?;
    Ok(AuditReport { check, records })
}

/// The status report of a node folder, from the running node if there is
/// one, else from the files and store directly.
///
/// # Errors
/// When the folder is not a node folder or the store is unreadable.
pub async fn status(root: &std::path::Path) -> Result<StatusReport, NodeError> {
    let dir = NodeDir::existing(root)?;
    match passerelle_link::admin::call::<_, Response>(root, &Request::Status).await? {
        Some(Response::Status(r)) => Ok(r),
        Some(Response::Error(e)) => Err(NodeError::Remote(e)),
        Some(_) => Err(NodeError::Refused(
            "unexpected reply from the running node".into(),
        )),
        None => {
            let config = passerelle_config::NodeConfig::load(&dir.config())?;
            let creds = Credentials::load(&dir)?;
            let store = Store::open(&dir.store())?;
            report(&creds, config.hub.to_string(), &store, None)
        }
    }
}

/// Asks the hub on the node's link (the node must be connected).
async fn ask_hub(shared: &Shared, request: &NodeRequest) -> Result<NodeResponse, NodeError> {
    let conn = shared.connection().ok_or(Refusal::NotConnected)?;
    Ok(passerelle_link::stream::exchange(
        &conn,
        request,
        MAX_CONTROL_FRAME,
        std::time::Duration::from_secs(15),
    )
    .await?)
}

/// Redeems a person's link code with the hub and records the link, with
/// who made it, in the store and the audit chain. The command line's
/// `link` and the console's counter both come here.
///
/// # Errors
/// A bad person id, a record linked already, the hub not connected or
/// refusing the code; a store failure.
pub async fn link(
    shared: &Shared,
    local_id: &str,
    code: &str,
    by: &str,
) -> Result<Link, NodeError> {
    vault::check_local_id(local_id)?;
    if let Some(old) = shared.store.link(local_id)? {
        return Err(Refusal::AlreadyLinked {
            local_id: local_id.to_string(),
            since: old.linked_at,
        }
        .into());
    }
    let request = NodeRequest::RedeemLink {
        code: code.trim().to_string(),
    };
    let pseudonym = match ask_hub(shared, &request).await? {
        NodeResponse::Linked(p) => p,
        NodeResponse::Refused(why) => return Err(Refusal::CodeRefused(why).into()),
        _ => return Err(Refusal::UnexpectedReply.into()),
    };
    let at = now();
    let actor = Actor::parse(by);
    let link = Link {
        local_id: local_id.to_string(),
        pseudonym,
        linked_at: at,
        linked_by: actor.to_string(),
    };
    shared.store.put_link(&link)?;
    shared.store.audit(
        at,
        Event {
            actor: actor.audit(),
            action: passerelle_protocol::audit::Action::Link,
            person: Some(local_id.to_string()),
            subject: link.pseudonym.0.clone(),
            procedure: None,
            detail: String::new(),
        },
    )?;
    Ok(link)
}

/// The consents in force a linked person gave this institution, asked of
/// the hub (the node keeps none itself); nothing for a record not linked.
///
/// # Errors
/// The hub not connected, refusing or of an older version.
pub async fn consents(shared: &Shared, local_id: &str) -> Result<Vec<ConsentGiven>, NodeError> {
    let Some(link) = shared.store.link(local_id)? else {
        return Ok(Vec::new());
    };
    let request = NodeRequest::Consents {
        person: link.pseudonym,
    };
    match ask_hub(shared, &request).await? {
        NodeResponse::Consents(list) => Ok(list),
        NodeResponse::Refused(why) => Err(NodeError::Refused(format!("the hub refused: {why}"))),
        _ => Err(Refusal::UnexpectedReply.into()),
    }
}

/// Writes a consistent backup of the store and the sealed documents (and
/// the configuration and certificates; the private keys only if asked).
fn backup(
    files: &DocFiles,
    store: &Store,
    to: &std::path::Path,
    include_keys: bool,
) -> Result<backup::Summary, NodeError> {
    let root = files.root().to_path_buf();
    let list = || {
        let mut out: backup::Extra = Vec::new();
        for name in ["node.toml", "node.crt", "ca.crt"] {
            out.push((name.to_string(), root.join(name)));
        }
        if include_keys {
            for name in ["node.key", "documents.key"] {
                if root.join(name).exists() {
                    out.push((name.to_string(), root.join(name)));
                }
            }
        }
        for d in store.all_documents().map_err(backup::BackupError::store)? {
            out.push((format!("documents/{}.sealed", d.id), files.sealed(&d.id)));
        }
        Ok(out)
    };
    Ok(backup::backup("node", &root, store, &list, to, now())?)
}

/// Restores a backup into a stopped node's folder.
fn restore(dir: &NodeDir, from: &std::path::Path) -> Result<Response, NodeError> {
    let staging = dir.root().join(format!(".restore-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let summary = match backup::unpack(from, &staging, "node", Store::open) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e.into());
        }
    };
    // Everything checks: put it in place, the old store kept aside.
    let aside = backup::install(dir.root(), &staging, &dir.store(), now())?;
    Ok(Response::Backup(summary, aside))
}
