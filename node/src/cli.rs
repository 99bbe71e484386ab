//! The `passerelle-node` command line. Human text goes to stderr, machine
//! output to stdout.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use passerelle_config::HubAddr;
use passerelle_link::output::{rfc3339, time, Cell, Format, Listing};

use crate::{
    admin,
    store::{BatchMeta, BatchState, BatchStatus},
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
    /// Reject a pending batch (someone other than who imported it): it
    /// never comes in force.
    Reject {
        /// Batch id (see `passerelle-node batches`).
        #[arg(long)]
        batch: u64,
        /// Why, for the importer.
        #[arg(long, default_value = "")]
        reason: String,
        /// Who rejects [default: $USER].
        #[arg(long)]
        by: Option<String>,
    },
    /// Withdraw the latest batch in force of a dataset: the batches before
    /// it are in force again, period by period.
    Rollback {
        /// Dataset, as declared in node.toml.
        #[arg(long)]
        dataset: String,
        /// Who withdraws it [default: $USER].
        #[arg(long)]
        by: Option<String>,
    },
    /// The console's agent accounts.
    Agent {
        /// What to do.
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// Check node.toml and the node's key and certificates without starting.
    CheckConfig,
    /// Diagnose: config, clock, certificate, DNS, UDP, QUIC, store,
    /// debris, disk.
    Doctor {
        /// Output format (table is plain text).
        #[arg(long, default_value = "table")]
        format: Format,
        /// First remove the partial and orphan document files left by
        /// interrupted deposits (never one being written).
        #[arg(long)]
        clean: bool,
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
    /// Tokens of the integration API (api_listen in node.toml).
    Token {
        /// What to do.
        #[command(subcommand)]
        command: crate::api::command::TokenCommand,
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

/// `agent` subcommands. Each is written in the audit chain with the
/// operator who ran it.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create an account; its first password is printed once (the agent
    /// changes it at the first sign-in).
    Add {
        /// Login: 2 to 64 lower-case letters, digits, '.', '-' or '_'.
        #[arg(long)]
        login: String,
        /// The agent's name, as the console shows it.
        #[arg(long)]
        name: String,
        /// data (imports), validator (validates, rejects, rolls back),
        /// counter (links people, deposits documents), admin (journal);
        /// repeat or separate with commas.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Who creates it [default: $USER].
        #[arg(long)]
        by: Option<String>,
    },
    /// Every account.
    List {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Remove an account and end its sessions.
    Remove {
        /// Login.
        #[arg(long)]
        login: String,
        /// Who removes it [default: $USER].
        #[arg(long)]
        by: Option<String>,
    },
    /// A new first password (printed once), the second factor forgotten,
    /// every session ended: for a forgotten password or a lost phone.
    Reset {
        /// Login.
        #[arg(long)]
        login: String,
        /// Who resets it [default: $USER].
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
    /// The heads of the hub's audit chain this node was shown, and whether
    /// the hub's chain still holds them (exit 1 if it does not).
    HubAnchors {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
}

/// Who runs a command, as requests carry it: `operator:` and `--by`, else
/// the operating-system user ([`crate::Actor::command_line`]).
pub fn who(by: Option<String>) -> String {
    crate::Actor::command_line(by).to_string()
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
                BatchStatus::Rejected => Cell::coded("rejected", "rejected"),
                BatchStatus::Withdrawn => Cell::coded("withdrawn", "withdrawn"),
            },
            Cell::optional(b.validated_by.as_deref()),
            Cell::text(&b.file),
            Cell::text(&b.sha256),
        ]);
    }
    l
}

/// Every batch with whether it is in force: the status says "in force",
/// "in force for" some periods, or "replaced" when newer batches replaced
/// every period; `in_force` (a boolean in JSON) and `periods_in_force`
/// follow the columns of [`batches_listing`].
pub fn batch_states_listing(states: &[BatchState]) -> Listing {
    let metas: Vec<BatchMeta> = states.iter().map(|s| s.meta.clone()).collect();
    let mut l = batches_listing(&metas);
    l.columns.extend(["in_force", "periods_in_force"]);
    let status = l.columns.iter().position(|c| *c == "status");
    for (row, s) in l.rows.iter_mut().zip(states) {
        let periods: Vec<String> = s.in_force.iter().map(ToString::to_string).collect();
        if let (Some(at), BatchStatus::Active) = (status, s.meta.status) {
            if periods.is_empty() {
                row[at] = Cell::coded("replaced", "active");
            } else if periods.len() < s.meta.periods.len() {
                row[at] = Cell::coded(format!("in force for {}", periods.join(" ")), "active");
            }
        }
        row.push(Cell::flag(!s.in_force.is_empty()));
        row.push(Cell::list(&periods, " "));
    }
    l
}

/// The absolute path of a file to read, or an error that says what to
/// check.
pub fn input_file(file: &std::path::Path) -> Result<PathBuf, crate::NodeError> {
    std::fs::canonicalize(file).map_err(|e| {
        crate::NodeError::Refused(format!(
            "{}: {e}; check the file's path, and that this user may read it",
            file.display()
        ))
    })
}

/// Runs a parsed command line: each command is one named step in
/// [`crate::commands`].
///
/// # Errors
/// Any failure, for `main` to print.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    use crate::commands as step;
    let dir = cli.dir.as_path();
    match cli.command {
        Command::Init { hub, token } => step::init(dir, hub, &token).await,
        Command::Serve => step::serve(dir).await,
        Command::CheckConfig => step::check_config(dir),
        Command::Doctor { format, clean } => step::doctor(dir, format, clean).await,
        Command::Status { format } => step::status(dir, format).await,
        Command::Import { dataset, by, file } => step::import(dir, dataset, who(by), &file).await,
        Command::Validate { batch, by } => step::validate(dir, batch, who(by)).await,
        Command::Reject { batch, reason, by } => step::reject(dir, batch, reason, who(by)).await,
        Command::Rollback { dataset, by } => step::rollback(dir, dataset, who(by)).await,
        Command::Agent { command } => step::agent(dir, command).await,
        Command::Link { person, code, by } => step::link(dir, person, code, who(by)).await,
        Command::Document { command } => step::document(dir, command).await,
        Command::Backup { to, include_keys } => step::backup(dir, &to, include_keys).await,
        Command::Restore { from } => step::restore(dir, &from).await,
        Command::Audit { command } => step::audit(dir, command).await,
        Command::Token { command } => crate::api::command::run(dir, command).await,
        Command::Batches { format } => step::batches(dir, format).await,
    }
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
