//! The steps behind each `passerelle-hub` command: one function per
//! command, called by [`crate::cli::run`]. Human text goes to stderr,
//! machine output (tokens, listings) to stdout.

use std::path::Path;

use passerelle_link::output::{time, Cell, Format, Listing};
use passerelle_protocol::{geo::Level, ids::NodeId};

use passerelle_hub_core::{init, paths::HubDir, HubError, Refusal};

use crate::{
    admin::{self, Request, Response},
    cli::{
        nodes_listing, render_coverage, render_indicator, AuditAction, CaAction, DatasetsAction,
        HistoryAction, PartnerAction,
    },
    server::{self, Listen},
};

/// Sends `req` to the hub of `root` (or serves it from its store) and
/// takes the reply `pick` expects; any other reply means the command and
/// the running hub are different versions.
async fn ask<T>(
    root: &Path,
    req: Request,
    pick: impl FnOnce(Response) -> Option<T>,
) -> Result<T, HubError> {
    pick(admin::request(root, req).await?).ok_or(Refusal::UnexpectedReply.into())
}

/// `init`: a new hub folder with its CA, keys and configuration.
pub fn init(root: &Path, name: Option<String>, public_names: Vec<String>) -> Result<(), HubError> {
    let config = init::init(&HubDir::create(root)?, name, public_names)?;
    eprintln!(
        "hub initialised in {}\ncertificate names: {}\nnext: passerelle-hub serve --dir {}",
        root.display(),
        config.public_names.join(", "),
        root.display()
    );
    Ok(())
}

/// `enroll`: a one-time token for a node.
pub async fn enroll(root: &Path, node_id: NodeId, name: String) -> Result<(), HubError> {
    let req = Request::Enroll {
        node_id: node_id.clone(),
        name,
    };
    let token = ask(root, req, |r| match r {
        Response::Token(t) => Some(t),
        _ => None,
    })
    .await?;
    println!("{token}");
    eprintln!(
        "one-time token for node {node_id}; on the node run:\n  passerelle-node init --hub HUB_HOST:PORT --token {token}"
    );
    Ok(())
}

/// `serve`: runs the hub until Ctrl-C or SIGTERM.
pub async fn serve(root: &Path, listen: Listen) -> Result<(), HubError> {
    let hub = server::start(root, listen, false).await?;
    eprintln!(
        "hub serving: QUIC on {} (UDP), portal on http://{}; Ctrl-C to stop",
        hub.quic_addr, hub.http_addr
    );
    passerelle_link::shutdown::signal().await;
    eprintln!("stopping");
    hub.stop().await;
    Ok(())
}

/// `nodes`: the registry.
pub async fn nodes(root: &Path, format: Format) -> Result<(), HubError> {
    let rows = ask(root, Request::Nodes, |r| match r {
        Response::Nodes(rows) => Some(rows),
        _ => None,
    })
    .await?;
    print!("{}", nodes_listing(&rows).render(format));
    Ok(())
}

/// `revoke`: a node's certificate, and its connection.
pub async fn revoke(root: &Path, node_id: NodeId) -> Result<(), HubError> {
    let r = ask(root, Request::Revoke { node_id }, |r| match r {
        Response::Revoked(r) => Some(r),
        _ => None,
    })
    .await?;
    let closed = if r.disconnected {
        "; its connection was closed"
    } else {
        ""
    };
    eprintln!("node {} revoked{closed}", r.node_id);
    Ok(())
}

/// `check-config`: loads everything `serve` would load, and says so.
pub fn check_config(root: &Path) -> Result<(), HubError> {
    let hub_dir = HubDir::existing(root)?;
    let config = passerelle_config::HubConfig::load(&hub_dir.config())?;
    let catalog =
        passerelle_observatory::catalog::load(config.catalog_dir.as_deref()).map_err(|e| {
            Refusal::BadFile {
                what: "catalog".into(),
                why: e.to_string(),
            }
        })?;
    crate::population::load(hub_dir.root())?;
    passerelle_observatory::programme::load(config.catalog_dir.as_deref(), &catalog).map_err(
        |e| Refusal::BadFile {
            what: "catalog".into(),
            why: e.to_string(),
        },
    )?;
    if let Some(path) = &config.boundaries {
        let text = std::fs::read_to_string(path).map_err(|source| HubError::Io {
            path: path.clone(),
            source,
        })?;
        passerelle_portal::map::Geometry::from_geojson(&text, &config.boundaries_code_property)
            .map_err(|why| Refusal::BadFile {
                what: format!("{} (boundaries in hub.toml)", path.display()),
                why,
            })?;
    }
    if let (Some(cert), Some(key)) = (&config.https_cert, &config.https_key) {
        passerelle_portal::https::acceptor(cert, key)?;
    }
    for key in [hub_dir.ca_key(), hub_dir.hub_key()] {
        passerelle_certs::files::read_private_key(&key)?;
    }
    // OpenID Connect client secrets: present, and readable by the hub only.
    for p in config.partner_oidc.iter().chain(&config.vault_oidc) {
        passerelle_certs::files::read_secret(&p.client_secret_file)?;
    }
    let map = if config.boundaries.is_some() {
        "configured boundaries"
    } else {
        "schematic"
    };
    let portal = if config.https_cert.is_some() {
        "HTTPS"
    } else {
        "HTTP (reverse proxy)"
    };
    // The senders' secret files are read, as at start.
    let senders = passerelle_vault::notify::Senders::from_config(&config, false).map_err(|e| {
        Refusal::BadFile {
            what: "mail or sms in hub.toml".into(),
            why: e.to_string(),
        }
    })?;
    let codes = match senders.describe() {
        (None, None) if config.messages.danger_show_codes => {
            "shown on screen (danger_show_codes: demonstration only)".to_string()
        }
        (None, None) => "no sender: accounts are created at the counter only".to_string(),
        (mail, sms) => [mail, sms]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", "),
    };
    eprintln!(
        "{}: ok — {} indicator(s), map: {map}, portal: {portal}, codes and notices: {codes}",
        hub_dir.config().display(),
        catalog.len(),
    );
    Ok(())
}

/// `indicators`: the catalog.
pub async fn indicators(root: &Path, format: Format) -> Result<(), HubError> {
    let list = ask(root, Request::Indicators, |r| match r {
        Response::Indicators(list) => Some(list),
        _ => None,
    })
    .await?;
    let mut l = Listing::new(vec![
        "id",
        "theme",
        "title",
        "unit",
        "frequency",
        "sources",
        "formula",
    ]);
    for i in list {
        let formula = i.formula.describe();
        l.rows.push(vec![
            Cell::text(i.id),
            Cell::text(i.theme),
            Cell::text(i.title),
            Cell::text(i.unit),
            Cell::text(i.frequency),
            Cell::list(&i.sources, "; "),
            Cell::text(formula),
        ]);
    }
    print!("{}", l.render(format));
    Ok(())
}

/// `indicator`: an indicator's latest result, refreshed first if asked.
pub async fn indicator(
    root: &Path,
    id: String,
    level: Option<Level>,
    refresh: bool,
    format: Format,
) -> Result<(), HubError> {
    let (ind, result, draft) = ask(root, Request::Indicator { id, refresh }, |r| match r {
        Response::Indicator(ind, result) => Some((ind, *result, None)),
        Response::Drafted(ind, d) => {
            let d = *d;
            Some((ind, d.result.clone(), Some(d)))
        }
        _ => None,
    })
    .await?;
    print!("{}", render_indicator(&ind, &result, level, format));
    if format == Format::Table {
        eprint!("{}", render_coverage(&result));
    }
    if let Some(d) = draft {
        use passerelle_observatory::publish::HeldBack;
        let why = match d.held_back {
            HeldBack::Incomplete => "contributions are missing".to_string(),
            HeldBack::BelowMinimum { min_coverage } => {
                format!(
                    "below the entry's minimum coverage of {:.0} %",
                    min_coverage * 100.0
                )
            }
            HeldBack::TwoSided => "a side of the ratio is partial".to_string(),
        };
        eprintln!(
            "NOT PUBLISHED: kept as a draft ({why}; {} of {} contribution(s)); the last published result stays",
            d.share.answered, d.share.expected
        );
        for g in &d.gaps {
            eprintln!(
                "  missing {} ({}), dataset {}: {}",
                g.name, g.node_id, g.dataset, g.why
            );
        }
    }
    Ok(())
}

/// `verify-indicator`: the provenance check of the latest result.
pub async fn verify_indicator(root: &Path, id: String) -> Result<(), HubError> {
    let v = ask(root, Request::Verify { id }, |r| match r {
        Response::Verified(v) => Some(v),
        _ => None,
    })
    .await?;
    eprintln!(
        "indicator {} computed {}: {} signed contribution(s) verified against the CA; {} cell(s) recomputed, all identical",
        v.indicator,
        time(Some(v.computed_at)),
        v.contributions,
        v.cells
    );
    Ok(())
}

/// `provenance`: the bundle of the latest result, written to `out`.
pub async fn provenance(root: &Path, id: String, full: bool, out: &Path) -> Result<(), HubError> {
    let text = ask(root, Request::Provenance { id, full }, |r| match r {
        Response::Bundle(t) => Some(t),
        _ => None,
    })
    .await?;
    passerelle_certs::files::write_atomic(out, text.as_bytes(), if full { 0o600 } else { 0o644 })?;
    eprintln!(
        "{} bundle written to {}; check it with: passerelle-verify {}",
        if full { "auditor's" } else { "public" },
        out.display(),
        out.display()
    );
    Ok(())
}

/// `partner add|list|remove`: partner accounts.
pub async fn partner(root: &Path, action: PartnerAction) -> Result<(), HubError> {
    match action {
        PartnerAction::Add {
            email,
            name,
            institution,
        } => {
            let req = Request::PartnerAdd {
                email: email.clone(),
                name,
                institution,
            };
            let password = ask(root, req, |r| match r {
                Response::Password(p) => Some(p),
                _ => None,
            })
            .await?;
            println!("{password}");
            eprintln!("account {email} created; give this initial password to its holder, once, by a safe channel");
        }
        PartnerAction::List { format } => {
            let list = ask(root, Request::Partners, |r| match r {
                Response::Partners(list) => Some(list),
                _ => None,
            })
            .await?;
            let mut l = Listing::new(vec![
                "email",
                "name",
                "institution",
                "created",
                "second_factor",
                "password_to_change",
            ]);
            for p in list {
                l.rows.push(vec![
                    Cell::text(p.email),
                    Cell::text(p.name),
                    Cell::text(p.institution),
                    Cell::time(Some(p.created_at)),
                    Cell::flag(p.second_factor),
                    Cell::flag(p.password_to_change),
                ]);
            }
            print!("{}", l.render(format));
        }
        PartnerAction::ResetTotp { email } => {
            let req = Request::PartnerResetTotp {
                email: email.clone(),
            };
            admin::request(root, req).await?;
            eprintln!("second factor of {email} forgotten; its holder sets it up again at the next sign-in (check who asks, by a safe channel)");
        }
        PartnerAction::Requests { format } => {
            let list = ask(root, Request::PartnerRequests, |r| match r {
                Response::PartnerRequests(list) => Some(list),
                _ => None,
            })
            .await?;
            let mut l = Listing::new(vec![
                "id",
                "provider",
                "email",
                "name",
                "organisation",
                "requested",
                "last_seen",
            ]);
            for r in list {
                l.rows.push(vec![
                    Cell::text(r.id),
                    Cell::text(r.provider),
                    Cell::text(r.email),
                    Cell::text(r.name),
                    Cell::text(r.organisation),
                    Cell::time(Some(r.requested_at)),
                    Cell::time(Some(r.last_seen)),
                ]);
            }
            print!("{}", l.render(format));
        }
        PartnerAction::Approve { id, institution } => {
            let req = Request::PartnerApprove {
                id: id.clone(),
                institution: institution.clone(),
            };
            let email = ask(root, req, |r| match r {
                Response::Approved(e) => Some(e),
                _ => None,
            })
            .await?;
            eprintln!("request {id} approved: {email} signs in at {institution} with their provider from now on");
        }
        PartnerAction::Refuse { id } => {
            admin::request(root, Request::PartnerRefuse { id: id.clone() }).await?;
            eprintln!("request {id} refused");
        }
        PartnerAction::Remove { email } => {
            let req = Request::PartnerRemove {
                email: email.clone(),
            };
            admin::request(root, req).await?;
            eprintln!("account {email} removed");
        }
    }
    Ok(())
}

fn absolute(path: &Path) -> Result<std::path::PathBuf, HubError> {
    std::path::absolute(path).map_err(|source| HubError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// `backup`: a consistent archive, taken while serving if the hub runs.
pub async fn backup(root: &Path, to: &Path, include_keys: bool) -> Result<(), HubError> {
    let to = absolute(to)?;
    let req = Request::Backup {
        to: to.clone(),
        include_keys,
    };
    let summary = ask(root, req, |r| match r {
        Response::Backup(s, _) => Some(s),
        _ => None,
    })
    .await?;
    eprintln!(
        "{}",
        summary.written(&to, include_keys, "ca.key and hub.key")
    );
    Ok(())
}

/// `restore`: a backup into a stopped hub's folder.
pub async fn restore(root: &Path, from: &Path) -> Result<(), HubError> {
    let from = absolute(from)?;
    let (summary, aside) = ask(root, Request::Restore { from }, |r| match r {
        Response::Backup(s, aside) => Some((s, aside)),
        _ => None,
    })
    .await?;
    eprintln!("{}", summary.restored(aside.as_deref()));
    Ok(())
}

/// `ca rotate|finish|status`: CA rotation, with the hub stopped.
pub async fn ca(root: &Path, action: CaAction) -> Result<(), HubError> {
    if !matches!(action, CaAction::Status)
        && passerelle_link::admin::call::<_, Response>(root, &Request::Nodes)
            .await?
            .is_some()
    {
        return Err(Refusal::NeedsStoppedHub {
            what: "run this, then start it again".into(),
        }
        .into());
    }
    match action {
        CaAction::Rotate => {
            passerelle_hub_core::ops::rotate_ca(root, passerelle_link::now())?;
            eprintln!(
                "CA rotation started: a new CA issues certificates; both CAs are trusted.
start the hub: connected nodes learn the new CA and renew their certificates.
when every node has renewed: stop the hub, run passerelle-hub ca finish, start it again"
            );
        }
        CaAction::Finish { force } => {
            let cut =
                passerelle_hub_core::ops::finish_ca_rotation(root, force, passerelle_link::now())?;
            eprintln!("CA rotation finished: only the new CA is trusted; the hub certificate comes from it (same key)");
            if !cut.is_empty() {
                eprintln!("cut off (enroll them again): {}", cut.join(", "));
            }
        }
        CaAction::Status => ca_status(root)?,
    }
    Ok(())
}

fn ca_status(root: &Path) -> Result<(), HubError> {
    let dir = HubDir::existing(root)?;
    let cas = passerelle_certs::files::read_pem_all(
        &dir.ca_cert(),
        passerelle_certs::files::CERTIFICATE,
    )?;
    for (i, c) in cas.iter().enumerate() {
        let (from, to) = passerelle_certs::identity::validity(c)?;
        println!(
            "{} sha256:{} valid {} to {}",
            if i == 0 { "issuing" } else { "trusted" },
            passerelle_protocol::hex::encode(&passerelle_protocol::sign::sha256(c)),
            time(Some(from)),
            time(Some(to))
        );
    }
    eprintln!(
        "{}",
        if cas.len() > 1 {
            "a CA rotation is under way"
        } else {
            "no rotation under way"
        }
    );
    Ok(())
}

/// `audit verify|show`: the vault's audit chain.
pub async fn audit(root: &Path, action: AuditAction) -> Result<(), HubError> {
    match action {
        AuditAction::Verify => {
            let check = ask(root, Request::AuditVerify, |r| match r {
                Response::AuditCheck(check) => Some(check),
                _ => None,
            })
            .await?;
            let head = check.map_err(|broken| Refusal::AuditBroken {
                why: broken.to_string(),
            })?;
            eprintln!(
                "audit chain intact: {} record(s), last hash {}",
                head.records, head.hash
            );
        }
        AuditAction::Show { format } => {
            let records = audit_records(root).await?;
            print!(
                "{}",
                passerelle_link::listings::audit(&records).render(format)
            );
        }
    }
    Ok(())
}

/// Every record of the vault's audit chain that decodes, in order, asked
/// page by page (from the running hub, or from the store when none runs).
///
/// # Errors
/// When the folder is not a hub folder, or a page cannot be read.
pub async fn audit_records(
    root: &Path,
) -> Result<Vec<passerelle_protocol::audit::Record>, HubError> {
    passerelle_protocol::audit::Page::all(|at| {
        ask(root, Request::AuditPage { from: at }, |r| match r {
            Response::AuditPage(page) => Some(page),
            _ => None,
        })
    })
    .await
}

/// `history status|prune|export`: what each indicator keeps of its past.
pub async fn history(root: &Path, action: HistoryAction) -> Result<(), HubError> {
    match action {
        HistoryAction::Status { format } => {
            let rows = ask(root, Request::HistoryStatus, |r| match r {
                Response::History(rows) => Some(rows),
                _ => None,
            })
            .await?;
            let mut l = Listing::new(vec![
                "indicator",
                "full",
                "summaries",
                "drafts",
                "bytes",
                "oldest",
            ]);
            for r in rows {
                l.rows.push(vec![
                    Cell::text(r.indicator),
                    Cell::number(r.full as u64),
                    Cell::number(r.summaries as u64),
                    Cell::number(r.drafts as u64),
                    Cell::number(r.bytes),
                    Cell::time(r.oldest),
                ]);
            }
            print!("{}", l.render(format));
        }
        HistoryAction::Prune => {
            let r = ask(root, Request::HistoryPrune, |r| match r {
                Response::Pruned(r) => Some(r),
                _ => None,
            })
            .await?;
            eprintln!(
                "history pruned: {} result(s) summarised, {} bundle(s) archived, {} entr(y/ies) deleted; {} -> {} bytes",
                r.summarised, r.archived, r.deleted, r.bytes_before, r.bytes_after
            );
        }
        HistoryAction::Export { to, indicator } => {
            let to = absolute(&to)?;
            let n = ask(
                root,
                Request::HistoryExport {
                    to: to.clone(),
                    indicator,
                },
                |r| match r {
                    Response::Exported(n) => Some(n),
                    _ => None,
                },
            )
            .await?;
            eprintln!("{n} bundle(s) written to {}", to.display());
        }
    }
    Ok(())
}

/// `datasets allow|deny|pending|list`: who may provide which dataset.
pub async fn datasets(root: &Path, action: DatasetsAction) -> Result<(), HubError> {
    use passerelle_hub_core::providers::Action;
    let (act, format, done) = match action {
        DatasetsAction::Allow {
            all_current: true, ..
        } => (Action::AllowAllCurrent, Format::Table, Some("allowed")),
        DatasetsAction::Allow {
            node_id: Some(node_id),
            dataset: Some(dataset),
            ..
        } => (
            Action::Allow { node_id, dataset },
            Format::Table,
            Some("allowed"),
        ),
        DatasetsAction::Allow { .. } => {
            return Err(Refusal::BadDataset {
                name: String::new(),
            }
            .into())
        }
        DatasetsAction::Deny { node_id, dataset } => (
            Action::Deny { node_id, dataset },
            Format::Table,
            Some("denied"),
        ),
        DatasetsAction::Pending { format } => (Action::Pending, format, None),
        DatasetsAction::List { format } => (Action::List, format, None),
    };
    let rows = ask(root, Request::Datasets(act), |r| match r {
        Response::Providers(rows) => Some(rows),
        _ => None,
    })
    .await?;
    match done {
        Some(what) => {
            for r in &rows {
                eprintln!(
                    "{} ({}) {what} to provide {}{}",
                    r.node_id,
                    r.name,
                    r.dataset,
                    if r.reported {
                        ""
                    } else {
                        " (not reported by the node yet)"
                    }
                );
            }
            if rows.is_empty() {
                eprintln!("no claim was pending");
            }
        }
        None => print!("{}", crate::cli::providers_listing(&rows).render(format)),
    }
    Ok(())
}
