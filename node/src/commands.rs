//! The steps behind each `passerelle-node` command: one function per
//! command, called by [`crate::cli::run`]. Human text goes to stderr,
//! machine output to stdout.

use std::path::Path;

use anyhow::Context as _;
use passerelle_config::HubAddr;
use passerelle_link::output::{time, Cell, Format, Listing};

use crate::{
    admin::{self, Request, Response},
    cli::{batch_states_listing, render_status, AgentCommand, AuditCommand, DocumentCommand},
    enroll,
    paths::NodeDir,
    serve,
    store::BatchStatus,
    NodeError,
};

/// Sends `req` to the node of `dir` (or serves it from its store) and
/// takes the reply `pick` expects; any other reply means the command and
/// the running node are different versions.
async fn ask<T>(
    dir: &Path,
    req: Request,
    progress: &mut dyn FnMut(u64),
    pick: impl FnOnce(Response) -> Option<T>,
) -> anyhow::Result<T> {
    pick(admin::request(dir, req, progress).await?).context(
        "the running node gave an unexpected reply: are the node and this command the same version?",
    )
}

fn absolute(path: &Path) -> Result<std::path::PathBuf, NodeError> {
    std::path::absolute(path).map_err(|source| NodeError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// `init`: enrolls with the hub and writes the node folder.
pub async fn init(dir: &Path, hub: HubAddr, token: &str) -> anyhow::Result<()> {
    let folder = NodeDir::create(dir)?;
    let done = enroll::init(&folder, hub, token).await?;
    eprintln!(
        "enrolled node {} ({}) with hub {}\ncertificate valid until {}\nnext: passerelle-node serve --dir {}",
        done.identity.node_id,
        done.identity.institution,
        done.config.hub,
        time(Some(done.identity.not_after)),
        dir.display()
    );
    Ok(())
}

/// `serve`: runs the node until Ctrl-C or SIGTERM.
pub async fn serve(dir: &Path) -> anyhow::Result<()> {
    let mut node = serve::start(dir).await?;
    eprintln!("node serving from {}; Ctrl-C to stop", dir.display());
    tokio::select! {
        _ = node.wait() => {}
        _ = passerelle_link::shutdown::signal() => eprintln!("stopping"),
    }
    node.stop().await;
    Ok(())
}

/// `check-config`: the configuration and the certificate agree.
pub fn check_config(dir: &Path) -> anyhow::Result<()> {
    let folder = NodeDir::existing(dir)?;
    let config = passerelle_config::NodeConfig::load(&folder.config())?;
    let creds = crate::identity::Credentials::load(&folder)?;
    if creds.identity.node_id != config.node_id {
        return Err(NodeError::Dir {
            path: folder.config(),
            why: format!(
                "node_id is {} but the certificate names {}",
                config.node_id, creds.identity.node_id
            ),
        }
        .into());
    }
    let days = creds
        .identity
        .not_after
        .saturating_sub(passerelle_link::now())
        / 86400;
    eprintln!(
        "{}: ok — node {}, hub {}, {} dataset(s), {} shared; certificate valid {days} more day(s)",
        folder.config().display(),
        config.node_id,
        config.hub,
        config.datasets.len(),
        config.policy.share.len()
    );
    Ok(())
}

/// `doctor`: every check, each failure with its fix; exit status 1 when
/// one fails. With `clean`, first removes the debris of interrupted
/// deposits.
pub async fn doctor(dir: &Path, format: Format, clean: bool) -> anyhow::Result<()> {
    if clean {
        let removed = crate::doctor::clean(dir).await?;
        eprintln!("removed {}", removed.describe());
    }
    let report = crate::doctor::run(
        dir,
        passerelle_link::now(),
        std::time::Duration::from_secs(5),
    )
    .await;
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", crate::doctor::render(&report));
    }
    if report.failed() {
        std::process::exit(1);
    }
    Ok(())
}

/// `status`: the node's link, datasets and recent queries.
pub async fn status(dir: &Path, format: Format) -> anyhow::Result<()> {
    let report = admin::status(dir).await?;
    print!("{}", render_status(&report, format));
    Ok(())
}

/// `import`: a file into a new batch, checked whole before anything is
/// written.
pub async fn import(dir: &Path, dataset: String, by: String, file: &Path) -> anyhow::Result<()> {
    let path = crate::cli::input_file(file)?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut progress = |bytes: u64| {
        if tty && size > 0 {
            eprint!("\rchecking {}: {:>3} %", file.display(), bytes * 100 / size);
        }
    };
    let req = Request::Import { dataset, path, by };
    let answer = ask(dir, req, &mut progress, batch).await;
    if tty {
        eprint!("\r\x1b[K");
    }
    let b = answer?;
    let periods: Vec<String> = b.periods.iter().map(ToString::to_string).collect();
    let state = match b.status {
        BatchStatus::Pending => format!(
            "waiting for validation by someone other than {} (passerelle-node validate --batch {})",
            b.imported_by, b.id
        ),
        BatchStatus::Active => "in force".into(),
        BatchStatus::Rejected | BatchStatus::Withdrawn => b.status.code().into(),
    };
    eprintln!(
        "batch {} of {}: {} rows, periods {}; {state}",
        b.id,
        b.dataset,
        b.rows,
        periods.join(" ")
    );
    Ok(())
}

/// The batch an import or a decision answers with.
fn batch(r: Response) -> Option<crate::store::BatchMeta> {
    match r {
        Response::Batch(b) => Some(b),
        _ => None,
    }
}

/// `validate`: a pending batch, by someone other than its importer.
pub async fn validate(dir: &Path, batch: u64, by: String) -> anyhow::Result<()> {
    let b = ask(
        dir,
        Request::Validate { batch, by },
        &mut |_| {},
        self::batch,
    )
    .await?;
    eprintln!(
        "batch {} of {} validated by {}; in force",
        b.id,
        b.dataset,
        b.validated_by.unwrap_or_default()
    );
    Ok(())
}

/// `reject`: a pending batch, by someone other than its importer.
pub async fn reject(dir: &Path, batch: u64, reason: String, by: String) -> anyhow::Result<()> {
    let req = Request::Reject { batch, reason, by };
    let b = ask(dir, req, &mut |_| {}, self::batch).await?;
    eprintln!(
        "batch {} of {} rejected; it never comes in force",
        b.id, b.dataset
    );
    Ok(())
}

/// `rollback`: the latest batch in force of a dataset withdrawn.
pub async fn rollback(dir: &Path, dataset: String, by: String) -> anyhow::Result<()> {
    let done = ask(
        dir,
        Request::Rollback { dataset, by },
        &mut |_| {},
        |r| match r {
            Response::RolledBack(done) => Some(done),
            _ => None,
        },
    )
    .await?;
    let back: Vec<String> = done
        .restored
        .iter()
        .map(|(p, b)| match b {
            Some(b) => format!("{p}: batch {b}"),
            None => format!("{p}: no data"),
        })
        .collect();
    eprintln!(
        "batch {} of {} withdrawn; now in force: {}",
        done.withdrawn.id,
        done.withdrawn.dataset,
        back.join(", ")
    );
    Ok(())
}

/// `agent add|list|remove|reset`: the console's accounts.
pub async fn agent(dir: &Path, command: AgentCommand) -> anyhow::Result<()> {
    let password = |r| match r {
        Response::AgentPassword { login, password } => Some((login, password)),
        _ => None,
    };
    match command {
        AgentCommand::Add {
            login,
            name,
            roles,
            by,
        } => {
            let req = Request::AgentAdd {
                login,
                name,
                roles,
                by: crate::cli::who(by),
            };
            let (login, pw) = ask(dir, req, &mut |_| {}, password).await?;
            println!("{pw}");
            eprintln!(
                "agent {login} created; give them this first password, which they change at their first sign-in to the console"
            );
        }
        AgentCommand::List { format } => {
            let list = ask(dir, Request::Agents, &mut |_| {}, |r| match r {
                Response::Agents(list) => Some(list),
                _ => None,
            })
            .await?;
            let mut l = Listing::new(vec![
                "login",
                "name",
                "roles",
                "created",
                "by",
                "first_password",
                "second_factor",
            ]);
            for a in &list {
                let roles: Vec<String> = a.roles.iter().map(|r| r.code().to_string()).collect();
                l.rows.push(vec![
                    Cell::text(&a.login),
                    Cell::text(&a.name),
                    Cell::list(&roles, ","),
                    Cell::time(Some(a.created_at)),
                    Cell::text(&a.created_by),
                    Cell::flag(a.must_change_password),
                    Cell::flag(a.totp_enabled),
                ]);
            }
            print!("{}", l.render(format));
        }
        AgentCommand::Remove { login, by } => {
            let req = Request::AgentRemove {
                login: login.clone(),
                by: crate::cli::who(by),
            };
            ask(dir, req, &mut |_| {}, |r| {
                matches!(r, Response::Done).then_some(())
            })
            .await?;
            eprintln!("agent {login} removed; their sessions are ended");
        }
        AgentCommand::Reset { login, by } => {
            let req = Request::AgentReset {
                login,
                by: crate::cli::who(by),
            };
            let (login, pw) = ask(dir, req, &mut |_| {}, password).await?;
            println!("{pw}");
            eprintln!(
                "agent {login}: new first password (to change at the next sign-in), second factor forgotten, sessions ended"
            );
        }
    }
    Ok(())
}

/// `link`: a record to a person's vault account, with their link code.
pub async fn link(dir: &Path, person: String, code: String, by: String) -> anyhow::Result<()> {
    let req = Request::Link {
        local_id: person,
        code,
        by,
    };
    let l = ask(dir, req, &mut |_| {}, |r| match r {
        Response::Linked(l) => Some(l),
        _ => None,
    })
    .await?;
    eprintln!(
        "record {} linked to the person's vault account; their vault now lists this institution's documents about them",
        l.local_id
    );
    Ok(())
}

/// `document add|list|remove`: the documents held about people.
pub async fn document(dir: &Path, command: DocumentCommand) -> anyhow::Result<()> {
    let doc = |r| match r {
        Response::Document(d) => Some(d),
        _ => None,
    };
    match command {
        DocumentCommand::Add {
            person,
            category,
            by,
            file,
        } => {
            let path = crate::cli::input_file(&file)?;
            let req = Request::DocumentAdd {
                local_id: person,
                category,
                path,
                by: crate::cli::who(by),
            };
            let d = ask(dir, req, &mut |_| {}, doc).await?;
            println!("{}", d.id);
            eprintln!(
                "document {} added for {} ({}, {} bytes), sealed at rest",
                d.id,
                d.local_id,
                d.category.code(),
                d.size
            );
        }
        DocumentCommand::List { person, format } => {
            let req = Request::Documents { local_id: person };
            let docs = ask(dir, req, &mut |_| {}, |r| match r {
                Response::Documents(docs) => Some(docs),
                _ => None,
            })
            .await?;
            print!("{}", documents_listing(&docs).render(format));
        }
        DocumentCommand::Remove { id, by } => {
            let req = Request::DocumentRemove {
                id,
                by: crate::cli::who(by),
            };
            let d = ask(dir, req, &mut |_| {}, doc).await?;
            eprintln!(
                "document {} of {} removed, with its sealed file",
                d.id, d.local_id
            );
        }
    }
    Ok(())
}

fn documents_listing(docs: &[crate::store::vault::DocRecord]) -> Listing {
    let mut l = Listing::new(vec![
        "id", "person", "category", "name", "type", "bytes", "added", "by", "sha256",
    ]);
    for d in docs {
        l.rows.push(vec![
            Cell::text(&d.id),
            Cell::text(&d.local_id),
            Cell::text(d.category.code()),
            Cell::text(&d.name),
            Cell::text(&d.mime),
            Cell::number(d.size),
            Cell::time(Some(d.added_at)),
            Cell::text(&d.added_by),
            Cell::text(passerelle_protocol::hex::encode(&d.sha256)),
        ]);
    }
    l
}

/// `backup`: a consistent archive, taken while serving if the node runs.
pub async fn backup(dir: &Path, to: &Path, include_keys: bool) -> anyhow::Result<()> {
    let to = absolute(to)?;
    let req = Request::Backup {
        to: to.clone(),
        include_keys,
    };
    let summary = ask(dir, req, &mut |_| {}, |r| match r {
        Response::Backup(s, _) => Some(s),
        _ => None,
    })
    .await?;
    eprintln!(
        "{}",
        summary.written(&to, include_keys, "node.key and documents.key")
    );
    Ok(())
}

/// `restore`: a backup into a stopped node's folder.
pub async fn restore(dir: &Path, from: &Path) -> anyhow::Result<()> {
    let from = absolute(from)?;
    let (summary, aside) = ask(dir, Request::Restore { from }, &mut |_| {}, |r| match r {
        Response::Backup(s, aside) => Some((s, aside)),
        _ => None,
    })
    .await?;
    eprintln!("{}", summary.restored(aside.as_deref()));
    Ok(())
}

/// `audit verify|show`: the node's audit chain.
pub async fn audit(dir: &Path, command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify => match ask(dir, Request::AuditVerify, &mut |_| {}, |r| match r {
            Response::AuditCheck(check) => Some(check),
            _ => None,
        })
        .await?
        {
            Ok(head) => eprintln!(
                "audit chain intact: {} record(s), last hash {}",
                head.records, head.hash
            ),
            Err(broken) => anyhow::bail!("{broken}"),
        },
        AuditCommand::HubAnchors { format } => {
            let (heads, diverged) = ask(dir, Request::HubHeads, &mut |_| {}, |r| match r {
                Response::HubHeads(heads, diverged) => Some((heads, diverged)),
                _ => None,
            })
            .await?;
            let mut l =
                passerelle_link::output::Listing::new(vec!["records", "hash", "seen", "confirmed"]);
            for h in &heads {
                l.rows.push(vec![
                    passerelle_link::output::Cell::number(h.records),
                    passerelle_link::output::Cell::text(passerelle_protocol::hex::encode(&h.hash)),
                    passerelle_link::output::Cell::time(Some(h.seen_at)),
                    passerelle_link::output::Cell::time(h.confirmed_at),
                ]);
            }
            print!("{}", l.render(format));
            if let Some(d) = diverged {
                anyhow::bail!(
                    "the hub's audit chain diverged at record {}: {} (found {}; the hub then stated {} records); keep this node's store as evidence (passerelle-node backup) and tell the hub's operator and DEETS",
                    d.at,
                    d.why,
                    passerelle_link::output::time(Some(d.found_at)),
                    d.stated.0
                );
            }
        }
        AuditCommand::Show { format } => {
            let report = admin::audit_report(dir).await?;
            print!(
                "{}",
                passerelle_link::listings::audit(&report.records).render(format)
            );
        }
    }
    Ok(())
}

/// `batches`: every batch and its state.
pub async fn batches(dir: &Path, format: Format) -> anyhow::Result<()> {
    let list = ask(dir, Request::Batches, &mut |_| {}, |r| match r {
        Response::Batches(b) => Some(b),
        _ => None,
    })
    .await?;
    print!("{}", batch_states_listing(&list).render(format));
    Ok(())
}
