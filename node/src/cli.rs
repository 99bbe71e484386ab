//! The `passerelle-node` command line. Human text goes to stderr, machine
//! output to stdout.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use passerelle_config::HubAddr;
use passerelle_link::output::{rfc3339, time, Cell, Format, Listing};

use crate::{
    admin, enroll,
    paths::NodeDir,
    serve,
    store::{BatchMeta, BatchStatus},
};

/// Passerelle node: keeps an institution's data and answers the hub.
#[derive(Debug, Parser)]
#[command(name = "passerelle-node", version, about)]
pub struct Cli {
    /// State and configuration folder of this node.
    #[arg(long, global = true, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Enroll with the hub: make a key here, get a certificate.
    Init {
        /// The hub's address, HOST:PORT.
        #[arg(long, value_name = "HOST:PORT")]
        hub: HubAddr,
        /// The one-time token printed by `passerelle-hub enroll`.
        #[arg(long)]
        token: String,
    },
    /// Connect out to the hub and answer its queries until stopped.
    Serve,
    /// Link, certificate, datasets, pending batches and last queries.
    Status {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Import a CSV file as a new batch of a dataset (all or nothing).
    Import {
        /// Dataset, as declared in node.toml.
        #[arg(long)]
        dataset: String,
        /// Who imports (recorded with the batch) [default: $USER].
        #[arg(long)]
        by: Option<String>,
        /// The CSV file.
        file: PathBuf,
    },
    /// Validate a pending batch (someone other than who imported it).
    Validate {
        /// Batch id (see `passerelle-node batches`).
        #[arg(long)]
        batch: u64,
        /// Who validates [default: $USER].
        #[arg(long)]
        by: Option<String>,
    },
    /// Check node.toml and the node's key and certificates without starting.
    CheckConfig,
    /// Diagnose: config, clock, certificate, DNS, UDP, QUIC, store, disk.
    Doctor {
        /// Output format (table is plain text).
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Every batch: dataset, rows, periods, status.
    Batches {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Link a person's record here to their vault account, with the
    /// one-time code their vault shows (needs `serve` running).
    Link {
        /// The institution's id for the person (kept here, never sent).
        #[arg(long, value_name = "LOCAL_ID")]
        person: String,
        /// The code the person shows on the portal.
        #[arg(long)]
        code: String,
        /// Who links [default: $USER].
        #[arg(long)]
        by: Option<String>,
    },
    /// Documents held about persons.
    Document {
        /// What to do.
        #[command(subcommand)]
        command: DocumentCommand,
    },
    /// A consistent backup of the store and documents, while serving.
    Backup {
        /// The archive to write (a tar file, owner-only).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        /// Also archive the private keys (node.key, documents.key); keep
        /// such a backup as safe as the keys themselves.
        #[arg(long)]
        include_keys: bool,
    },
    /// Restore a backup (the node must be stopped); the current store is
    /// kept aside, not deleted.
    Restore {
        /// The archive.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// The tamper-evident access log.
    Audit {
        /// What to do.
        #[command(subcommand)]
        command: AuditCommand,
    },
}

/// `document` subcommands.
#[derive(Debug, Subcommand)]
pub enum DocumentCommand {
    /// Add a document (PDF, JPEG or PNG), sealed at rest.
    Add {
        /// The institution's id for the person.
        #[arg(long, value_name = "LOCAL_ID")]
        person: String,
        /// identity, address, resources, social-rights, employment,
        /// health-insurance, housing, family, education, other.
        #[arg(long)]
        category: String,
        /// Who adds [default: $USER].
        #[arg(long)]
        by: Option<String>,
        /// The file.
        file: PathBuf,
    },
    /// Documents, of one person or all.
    List {
        /// The institution's id for the person.
        #[arg(long, value_name = "LOCAL_ID")]
        person: Option<String>,
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Remove a document and its sealed file.
    Remove {
        /// Document id.
        #[arg(long)]
        id: String,
        /// Who removes [default: $USER].
        #[arg(long)]
        by: Option<String>,
    },
}

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the chain; report the first broken record (exit 1 if any).
    Verify,
    /// Every record.
    Show {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
}

fn who(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .unwrap_or_default()
}

/// Batches as a listing.
pub fn batches_listing(batches: &[BatchMeta]) -> Listing {
    let mut l = Listing::new(vec![
        "batch",
        "dataset",
        "rows",
        "periods",
        "imported",
        "by",
        "status",
        "validated_by",
        "file",
        "sha256",
    ]);
    for b in batches {
        let periods: Vec<String> = b.periods.iter().map(ToString::to_string).collect();
        l.rows.push(vec![
            Cell::number(b.id),
            Cell::text(&b.dataset),
            Cell::number(b.rows),
            Cell::list(&periods, " "),
            Cell::time(Some(b.imported_at)),
            Cell::text(&b.imported_by),
            match b.status {
                BatchStatus::Pending => Cell::coded("pending validation", "pending"),
                BatchStatus::Active => Cell::coded("in force", "active"),
            },
            Cell::optional(b.validated_by.as_deref()),
            Cell::text(&b.file),
            Cell::text(&b.sha256),
        ]);
    }
    l
}

/// Runs a parsed command line.
///
/// # Errors
/// Any failure, for `main` to print.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init { hub, token } => {
            let dir = NodeDir::create(&cli.dir)?;
            let done = enroll::init(&dir, hub, &token).await?;
            eprintln!(
                "enrolled node {} ({}) with hub {}\ncertificate valid until {}\nnext: passerelle-node serve --dir {}",
                done.identity.node_id,
                done.identity.institution,
                done.config.hub,
                time(Some(done.identity.not_after)),
                cli.dir.display()
            );
        }
        Command::Serve => {
            let mut node = serve::start(&cli.dir).await?;
            eprintln!("node serving from {}; Ctrl-C to stop", cli.dir.display());
            tokio::select! {
                _ = node.wait() => {}
                _ = passerelle_link::shutdown::signal() => eprintln!("stopping"),
            }
            node.stop().await;
        }
        Command::CheckConfig => {
            let dir = NodeDir::existing(&cli.dir)?;
            let config = passerelle_config::NodeConfig::load(&dir.config())?;
            let creds = crate::identity::Credentials::load(&dir)?;
            if creds.identity.node_id != config.node_id {
                return Err(crate::NodeError::Dir {
                    path: dir.config(),
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
                dir.config().display(),
                config.node_id,
                config.hub,
                config.datasets.len(),
                config.policy.share.len()
            );
        }
        Command::Doctor { format } => {
            let report = crate::doctor::run(
                &cli.dir,
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
        }
        Command::Status { format } => {
            let report = admin::status(&cli.dir).await?;
            print!("{}", render_status(&report, format));
        }
        Command::Import { dataset, by, file } => {
            let path = std::fs::canonicalize(&file).map_err(|source| crate::NodeError::Io {
                path: file.clone(),
                source,
            })?;
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let mut progress = |bytes: u64| {
                if tty && size > 0 {
                    eprint!("\rchecking {}: {:>3} %", file.display(), bytes * 100 / size);
                }
            };
            let req = admin::Request::Import {
                dataset,
                path,
                by: who(by),
            };
            let resp = admin::request(&cli.dir, req, &mut progress).await;
            if tty {
                eprint!("\r\x1b[K");
            }
            if let admin::Response::Batch(b) = resp? {
                let periods: Vec<String> = b.periods.iter().map(ToString::to_string).collect();
                let state = match b.status {
                    BatchStatus::Pending => format!(
                        "waiting for validation by someone other than {} (passerelle-node validate --batch {})",
                        b.imported_by, b.id
                    ),
                    BatchStatus::Active => "in force".into(),
                };
                eprintln!(
                    "batch {} of {}: {} rows, periods {}; {state}",
                    b.id,
                    b.dataset,
                    b.rows,
                    periods.join(" ")
                );
            }
        }
        Command::Validate { batch, by } => {
            let req = admin::Request::Validate { batch, by: who(by) };
            if let admin::Response::Batch(b) = admin::request(&cli.dir, req, &mut |_| {}).await? {
                eprintln!(
                    "batch {} of {} validated by {}; in force",
                    b.id,
                    b.dataset,
                    b.validated_by.unwrap_or_default()
                );
            }
        }
        Command::Link { person, code, by } => {
            let req = admin::Request::Link {
                local_id: person,
                code,
                by: who(by),
            };
            if let admin::Response::Linked(l) = admin::request(&cli.dir, req, &mut |_| {}).await? {
                eprintln!(
                    "record {} linked to the person's vault account; their vault now lists this institution's documents about them",
                    l.local_id
                );
            }
        }
        Command::Document { command } => document(&cli.dir, command).await?,
        Command::Backup { to, include_keys } => {
            let to = std::path::absolute(&to).map_err(|source| crate::NodeError::Io {
                path: to.clone(),
                source,
            })?;
            if let admin::Response::Backup(s, _) = admin::request(
                &cli.dir,
                admin::Request::Backup {
                    to: to.clone(),
                    include_keys,
                },
                &mut |_| {},
            )
            .await?
            {
                eprintln!(
                    "{}",
                    s.written(&to, include_keys, "node.key and documents.key")
                );
            }
        }
        Command::Restore { from } => {
            let from = std::path::absolute(&from).map_err(|source| crate::NodeError::Io {
                path: from.clone(),
                source,
            })?;
            if let admin::Response::Backup(s, aside) =
                admin::request(&cli.dir, admin::Request::Restore { from }, &mut |_| {}).await?
            {
                eprintln!("{}", s.restored(aside.as_deref()));
            }
        }
        Command::Audit { command } => {
            let admin::Response::Audit(report) =
                admin::request(&cli.dir, admin::Request::Audit, &mut |_| {}).await?
            else {
                anyhow::bail!("unexpected reply from the node");
            };
            match command {
                AuditCommand::Verify => match report.check {
                    Ok(head) => eprintln!(
                        "audit chain intact: {} record(s), last hash {}",
                        head.records, head.hash
                    ),
                    Err(broken) => anyhow::bail!("{broken}"),
                },
                AuditCommand::Show { format } => {
                    print!(
                        "{}",
                        passerelle_link::listings::audit(&report.records).render(format)
                    );
                }
            }
        }
        Command::Batches { format } => {
            if let admin::Response::Batches(b) =
                admin::request(&cli.dir, admin::Request::Batches, &mut |_| {}).await?
            {
                print!("{}", batches_listing(&b).render(format));
            }
        }
    }
    Ok(())
}

async fn document(dir: &std::path::Path, command: DocumentCommand) -> anyhow::Result<()> {
    match command {
        DocumentCommand::Add {
            person,
            category,
            by,
            file,
        } => {
            let path = std::fs::canonicalize(&file).map_err(|source| crate::NodeError::Io {
                path: file.clone(),
                source,
            })?;
            let req = admin::Request::DocumentAdd {
                local_id: person,
                category,
                path,
                by: who(by),
            };
            if let admin::Response::Document(d) = admin::request(dir, req, &mut |_| {}).await? {
                println!("{}", d.id);
                eprintln!(
                    "document {} added for {} ({}, {} bytes), sealed at rest",
                    d.id,
                    d.local_id,
                    d.category.code(),
                    d.size
                );
            }
        }
        DocumentCommand::List { person, format } => {
            let req = admin::Request::Documents { local_id: person };
            if let admin::Response::Documents(docs) = admin::request(dir, req, &mut |_| {}).await? {
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
                print!("{}", l.render(format));
            }
        }
        DocumentCommand::Remove { id, by } => {
            let req = admin::Request::DocumentRemove { id, by: who(by) };
            if let admin::Response::Document(d) = admin::request(dir, req, &mut |_| {}).await? {
                eprintln!(
                    "document {} of {} removed, with its sealed file",
                    d.id, d.local_id
                );
            }
        }
    }
    Ok(())
}

/// Renders a status report.
pub fn render_status(r: &admin::StatusReport, format: Format) -> String {
    if format == Format::Json {
        return serde_json::to_string_pretty(&status_json(r)).expect("JSON values serialize")
            + "\n";
    }
    let link = match (&r.link, r.running) {
        (Some(l), _) if l.connected => format!("connected since {}", time(l.since)),
        (Some(l), _) => format!(
            "disconnected since {}{}",
            time(l.since),
            l.last_error
                .as_ref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ),
        (None, _) => "not running (start it with passerelle-node serve)".into(),
    };
    let mut l = Listing::new(vec!["key", "value"]);
    for (k, v) in [
        ("node_id", r.node_id.clone()),
        ("institution", r.institution.clone()),
        ("hub", r.hub.clone()),
        ("link", link),
        (
            "storage",
            match &r.storage_degraded {
                None => "ok".into(),
                Some(why) => format!("degraded: {why}"),
            },
        ),
        ("cert_expires", time(Some(r.cert_not_after))),
        (
            "datasets",
            if r.datasets.is_empty() {
                "none".into()
            } else {
                r.datasets.join(" ")
            },
        ),
        (
            "pending_batches",
            if r.pending.is_empty() {
                "none".into()
            } else {
                r.pending
                    .iter()
                    .map(|b| format!("{} ({})", b.id, b.dataset))
                    .collect::<Vec<_>>()
                    .join(" ")
            },
        ),
    ] {
        l.rows.push(vec![Cell::text(k), Cell::text(v)]);
    }
    let mut out = l.render(format);
    if format == Format::Table {
        out.push_str("\nrecent queries:\n");
        out.push_str(&queries_listing(&r.recent_queries).render(Format::Table));
    }
    out
}

/// A status report as typed JSON, with the same keys as the table;
/// pending batches and recent queries as their listings' rows.
fn status_json(r: &admin::StatusReport) -> serde_json::Value {
    serde_json::json!({
        "node_id": r.node_id,
        "institution": r.institution,
        "hub": r.hub,
        "running": r.running,
        "link": r.link.as_ref().map(|l| serde_json::json!({
            "connected": l.connected,
            "since": l.since.map(rfc3339),
            "last_error": l.last_error,
            "attempts": l.attempts,
        })),
        "storage": r.storage_degraded.as_ref().map_or_else(
            || serde_json::json!({ "degraded": false }),
            |why| serde_json::json!({ "degraded": true, "reason": why }),
        ),
        "cert_expires": rfc3339(r.cert_not_after),
        "datasets": r.datasets,
        "pending_batches": batches_listing(&r.pending).to_json(),
        "recent_queries": queries_listing(&r.recent_queries).to_json(),
    })
}

/// Recent queries as a listing.
fn queries_listing(records: &[crate::store::QueryRecord]) -> Listing {
    let mut q = Listing::new(vec!["at", "query_id", "kind", "outcome", "reason"]);
    for rec in records {
        q.rows.push(vec![
            Cell::time(Some(rec.at)),
            Cell::text(&rec.query_id),
            Cell::text(&rec.kind),
            Cell::text(&rec.outcome),
            Cell::text(&rec.reason),
        ]);
    }
    q
}
