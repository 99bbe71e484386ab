//! The `passerelle-hub` command line. Human text goes to stderr, machine
//! output (tokens, listings) to stdout.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Parser, Subcommand};
use passerelle_link::output::{time, Cell, Format, Listing};
use passerelle_protocol::{
    geo::{self, Level},
    ids::NodeId,
};

use passerelle_hub_core::ops::NodeRow;
use passerelle_observatory::{
    catalog::Indicator,
    compose::{ResultCell, Status},
    IndicatorResult,
};

use crate::server::Listen;

/// Passerelle hub: enrolls partner nodes, asks them signed questions and
/// publishes the portal.
#[derive(Debug, Parser)]
#[command(name = "passerelle-hub", version, about)]
pub struct Cli {
    /// State and configuration folder of the hub [default: the current
    /// folder; for `demo`, ./passerelle-demo].
    #[arg(long, global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the CA, the hub certificate and key, and hub.toml.
    Init {
        /// Institution running the hub (named in the CA).
        #[arg(long)]
        name: Option<String>,
        /// Host name or IP address nodes use to reach the hub (repeat for
        /// several) [default: localhost, 127.0.0.1, ::1].
        #[arg(long = "public-name", value_name = "NAME")]
        public_names: Vec<String>,
    },
    /// Issue a one-time enrollment token for a node; prints it alone on stdout.
    Enroll {
        /// Node id: lower-case letters, digits and '-' (e.g. caf-976).
        #[arg(long)]
        node_id: NodeId,
        /// Institution name, as the certificate will show it.
        #[arg(long)]
        name: String,
    },
    /// Run the QUIC listener and the web portal until stopped.
    Serve {
        /// UDP address for nodes [default: quic_listen of hub.toml].
        #[arg(long)]
        quic_listen: Option<SocketAddr>,
        /// TCP address of the portal [default: http_listen of hub.toml].
        #[arg(long)]
        http_listen: Option<SocketAddr>,
    },
    /// The registry: id, name, connected, last seen, certificate expiry
    /// (from its certificate), version (as the node reports it).
    Nodes {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Revoke a node: disconnect it now and refuse it from then on.
    Revoke {
        /// Node id.
        #[arg(long)]
        node_id: NodeId,
    },
    /// Check hub.toml, the catalog, map boundaries and certificate files
    /// without starting.
    CheckConfig,
    /// Hub of hubs: this hub as a node of a national hub.
    Upstream {
        /// What to do.
        #[command(subcommand)]
        action: UpstreamAction,
    },
    /// Reference populations by year and age (INSEE « Population par sexe
    /// et âge »), the denominators of rates; without, INSEE 2017.
    Population {
        /// What to do.
        #[command(subcommand)]
        action: PopulationAction,
    },
    /// Which node may provide which dataset: a node's claim is asked only
    /// once allowed here.
    Datasets {
        /// What to do.
        #[command(subcommand)]
        action: DatasetsAction,
    },
    /// The directory of actors: entries for actors that run no node
    /// (communal social centres, associations, referent social workers).
    Directory {
        /// What to do.
        #[command(subcommand)]
        action: crate::directory::DirectoryAction,
    },
    /// Indicators' history: what is kept with its signed answers, as
    /// summaries, and pruning (see the history_* keys of hub.toml).
    History {
        /// What to do.
        #[command(subcommand)]
        action: HistoryAction,
    },
    /// The indicator catalog.
    Indicators {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// An indicator's latest values, with coverage.
    Indicator {
        /// Indicator id (see `passerelle-hub indicators`).
        id: String,
        /// Only this level.
        #[arg(long)]
        level: Option<Level>,
        /// Recompose from the nodes first (needs the running hub).
        #[arg(long)]
        refresh: bool,
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Partner professionals' accounts on the portal.
    Partner {
        /// What to do.
        #[command(subcommand)]
        action: PartnerAction,
    },
    /// A consistent backup of the store, uploads and resources, while serving.
    Backup {
        /// The archive to write (a tar file, owner-only).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        /// Also archive ca.key and hub.key; keep such a backup as safe as
        /// the keys themselves.
        #[arg(long)]
        include_keys: bool,
    },
    /// Restore a backup (the hub must be stopped); the current store is
    /// kept aside, not deleted.
    Restore {
        /// The archive.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// The network's CA: rotate it with an overlap (hub stopped).
    Ca {
        /// What to do.
        #[command(subcommand)]
        action: CaAction,
    },
    /// The vault's tamper-evident access log.
    Audit {
        /// What to do.
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Re-check every signature behind an indicator and recompute it offline.
    VerifyIndicator {
        /// Indicator id.
        id: String,
    },
    /// Write the provenance bundle of an indicator's latest result, for
    /// `passerelle-verify`: as the portal serves it, or with every signed
    /// answer (`--full`, for an auditor: it discloses each provider's
    /// answer, so hand it only to someone entitled to see them).
    Provenance {
        /// Indicator id.
        id: String,
        /// Every signed answer (auditor's export).
        #[arg(long)]
        full: bool,
        /// File to write.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// A hub and demonstration nodes (fictitious institutions) in one process.
    #[cfg(feature = "demo")]
    Demo {
        /// UDP address for nodes [default: 127.0.0.1:4433].
        #[arg(long)]
        quic_listen: Option<SocketAddr>,
        /// TCP address of the portal [default: 127.0.0.1:8080].
        #[arg(long)]
        http_listen: Option<SocketAddr>,
    },
}

/// Hub of hubs commands.
#[derive(Debug, Subcommand)]
pub enum UpstreamAction {
    /// Enroll this hub (stopped) as a node of a national hub, with a token
    /// its operator issued: the identity goes to upstream/, the address to
    /// [upstream] in hub.toml; the link starts with `serve`.
    Enroll {
        /// The national hub's QUIC address (host:port).
        #[arg(long)]
        hub: passerelle_config::HubAddr,
        /// The enrollment token.
        #[arg(long)]
        token: String,
    },
}

/// CA commands.
#[derive(Debug, Subcommand)]
pub enum CaAction {
    /// Start a rotation: a new CA issues from now on, both are trusted;
    /// nodes renew from the new one at their next connection.
    Rotate,
    /// End the rotation: the hub certificate moves to the new CA (same
    /// key) and the old CA is no longer trusted.
    Finish {
        /// Finish even if some nodes still hold a certificate from the old
        /// CA (they are cut off and must enroll again).
        #[arg(long)]
        force: bool,
    },
    /// The trusted CAs, and whether a rotation is under way.
    Status,
}

/// Dataset provider commands.
#[derive(Debug, Subcommand)]
pub enum DatasetsAction {
    /// Allow a node to provide a dataset (it is asked from the next refresh).
    Allow {
        /// Node id.
        #[arg(long, required_unless_present = "all_current")]
        node_id: Option<NodeId>,
        /// Dataset name.
        #[arg(long, required_unless_present = "all_current")]
        dataset: Option<String>,
        /// Allow every claim not decided yet, once (when upgrading a hub
        /// that had no approvals): check `datasets pending` first.
        #[arg(long, conflicts_with_all = ["node_id", "dataset"])]
        all_current: bool,
    },
    /// Deny a node to provide a dataset (it is never asked for it).
    Deny {
        /// Node id.
        #[arg(long)]
        node_id: NodeId,
        /// Dataset name.
        #[arg(long)]
        dataset: String,
    },
    /// Claims not decided yet: nodes reporting a dataset nobody approved.
    Pending {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Every decision: allowed and denied providers.
    List {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
}

/// History commands.
#[derive(Debug, Subcommand)]
pub enum HistoryAction {
    /// Per indicator: results kept in full, summaries, drafts, bytes.
    Status {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Apply the retention of hub.toml now (the running hub also does it
    /// after each scheduled refresh).
    Prune,
    /// Write the checkable bundle (every signed answer) of each result
    /// still kept in full into a folder, to archive it before pruning.
    Export {
        /// The folder (created if needed).
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
        /// Only this indicator.
        #[arg(long)]
        indicator: Option<String>,
    },
}

/// Audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check the chain; report the first broken record (exit 1 if any).
    Verify,
    /// Every record.
    Show {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
}

/// Account commands.
#[derive(Debug, Subcommand)]
pub enum PartnerAction {
    /// Create an account; prints its one-time initial password alone on stdout.
    Add {
        /// Login e-mail address.
        #[arg(long)]
        email: String,
        /// The person's name.
        #[arg(long)]
        name: String,
        /// Their institution's node id.
        #[arg(long)]
        institution: NodeId,
    },
    /// Every account.
    List {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Delete an account.
    Remove {
        /// Login e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Forget an account's second factor (a lost phone): its sessions end
    /// and its holder enrols again at the next sign-in.
    ResetTotp {
        /// Login e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Professionals who signed in with a provider (ProConnect) and have
    /// no account yet: their requests, waiting for a decision.
    Requests {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Approve a request: the professional gets an account at this
    /// institution (or their account there is bound to the provider), and
    /// their next sign-in opens a session.
    Approve {
        /// The request's id (see `partner requests`).
        id: String,
        /// Their institution's node id.
        #[arg(long, alias = "node")]
        institution: NodeId,
    },
    /// Refuse (remove) a request.
    Refuse {
        /// The request's id.
        id: String,
    },
}

/// `population` subcommands.
#[derive(Debug, Subcommand)]
pub enum PopulationAction {
    /// Check a file whole and add its years (replacing the same years);
    /// the hub uses them from its next start.
    Import {
        /// The CSV file (separated by ';', columns CODGEO, AGED100, NB and
        /// ANNEE or --annee).
        file: PathBuf,
        /// The year of the figures, when the file has no ANNEE column.
        #[arg(long, value_name = "YEAR")]
        annee: Option<u16>,
    },
}

/// Runs a parsed command line: each command is one named step in
/// [`crate::commands`].
///
/// # Errors
/// Any failure, for `main` to print.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    use crate::commands as step;
    let dir = |default: &str| cli.dir.clone().unwrap_or_else(|| PathBuf::from(default));
    match cli.command {
        Command::Init { name, public_names } => step::init(&dir("."), name, public_names)?,
        Command::Enroll { node_id, name } => step::enroll(&dir("."), node_id, name).await?,
        Command::Serve {
            quic_listen,
            http_listen,
        } => {
            let listen = Listen {
                quic: quic_listen,
                http: http_listen,
            };
            step::serve(&dir("."), listen).await?;
        }
        Command::Nodes { format } => step::nodes(&dir("."), format).await?,
        Command::Revoke { node_id } => step::revoke(&dir("."), node_id).await?,
        Command::CheckConfig => step::check_config(&dir("."))?,
        Command::Population {
            action: PopulationAction::Import { file, annee },
        } => {
            let years = crate::population::import(&dir("."), &file, annee)?;
            let years: Vec<String> = years.iter().map(u16::to_string).collect();
            eprintln!(
                "populations imported; years held: {} (used from the hub's next start)",
                years.join(", ")
            );
        }
        Command::Datasets { action } => step::datasets(&dir("."), action).await?,
        Command::Directory { action } => crate::directory::run(&dir("."), action).await?,
        Command::History { action } => step::history(&dir("."), action).await?,
        Command::Indicators { format } => step::indicators(&dir("."), format).await?,
        Command::Indicator {
            id,
            level,
            refresh,
            format,
        } => step::indicator(&dir("."), id, level, refresh, format).await?,
        Command::VerifyIndicator { id } => step::verify_indicator(&dir("."), id).await?,
        Command::Provenance { id, full, out } => {
            step::provenance(&dir("."), id, full, &out).await?
        }
        Command::Partner { action } => step::partner(&dir("."), action).await?,
        Command::Backup { to, include_keys } => step::backup(&dir("."), &to, include_keys).await?,
        Command::Restore { from } => step::restore(&dir("."), &from).await?,
        Command::Ca { action } => step::ca(&dir("."), action).await?,
        Command::Upstream {
            action: UpstreamAction::Enroll { hub, token },
        } => {
            let node = crate::upstream::enroll(&dir("."), hub, &token).await?;
            println!(
                "enrolled with the national hub as node {node}; start the hub to open the link"
            );
        }
        Command::Audit { action } => step::audit(&dir("."), action).await?,
        #[cfg(feature = "demo")]
        Command::Demo {
            quic_listen,
            http_listen,
        } => {
            crate::demo::run(&dir("passerelle-demo"), quic_listen, http_listen).await?;
        }
    }
    Ok(())
}

/// Dataset providers as a listing: decisions, or claims pending.
pub fn providers_listing(rows: &[passerelle_hub_core::providers::ProviderRow]) -> Listing {
    let mut l = Listing::new(vec![
        "node_id",
        "name",
        "dataset",
        "state",
        "decided_at",
        "first_claimed",
        "reported",
    ]);
    for r in rows {
        l.rows.push(vec![
            Cell::text(&r.node_id),
            Cell::text(&r.name),
            Cell::text(&r.dataset),
            Cell::text(&r.state),
            r.decided_at
                .map_or_else(Cell::missing, |t| Cell::time(Some(t))),
            r.first_claimed
                .map_or_else(Cell::missing, |t| Cell::time(Some(t))),
            Cell::flag(r.reported),
        ]);
    }
    l
}

/// The registry as a listing.
pub fn nodes_listing(rows: &[NodeRow]) -> Listing {
    let mut l = Listing::new(vec![
        "node_id",
        "name",
        "connected",
        "last_seen",
        "cert_expires",
        "version",
        "status",
        "revoked_at",
    ]);
    for r in rows {
        l.rows.push(vec![
            Cell::text(&r.node_id),
            Cell::text(&r.name),
            Cell::flag(r.connected),
            Cell::time(r.last_seen),
            Cell::time(Some(r.cert_not_after)),
            Cell::optional(r.version.as_deref()),
            Cell::text(if r.revoked_at.is_some() {
                "revoked"
            } else {
                "enrolled"
            }),
            r.revoked_at
                .map_or_else(Cell::missing, |t| Cell::time(Some(t))),
        ]);
    }
    l
}

/// An indicator's cells as a listing (JSON: the whole result).
pub fn render_indicator(
    ind: &Indicator,
    r: &IndicatorResult,
    level: Option<Level>,
    format: Format,
) -> String {
    // Rounded to the catalog's decimals, even a result stored before
    // results were rounded when composed.
    let cells: Vec<ResultCell> = r
        .cells
        .iter()
        .filter(|c| level.is_none_or(|l| c.level == l))
        .map(|c| ResultCell {
            value: c
                .value
                .map(|v| passerelle_observatory::catalog::round(v, ind.decimals)),
            ..c.clone()
        })
        .collect();
    if format == Format::Json {
        let v = serde_json::json!({
            "indicator": ind.id,
            "title": ind.title,
            "unit": ind.unit,
            "computed_at": r.computed_at,
            "coverage": r.coverage,
            "complete": r.coverage.complete(),
            "cells": cells,
        });
        return serde_json::to_string_pretty(&v).expect("serializes") + "\n";
    }
    let mut l = Listing::new(vec!["level", "code", "name", "period", "value", "status"]);
    for c in &cells {
        l.rows.push(vec![
            Cell::text(c.level.to_string()),
            Cell::text(&c.code),
            Cell::text(geo::name(c.level, &c.code).unwrap_or("?")),
            Cell::text(c.period.to_string()),
            Cell::decimal(c.value, ind.decimals),
            Cell::text(match c.status {
                Status::Released => "released",
                Status::Suppressed => "suppressed",
                Status::Missing => "missing",
            }),
        ]);
    }
    l.render(format)
}

/// Coverage in words, for people.
pub fn render_coverage(r: &IndicatorResult) -> String {
    let mut out = format!(
        "computed {}; {} contribution(s); {} cell(s) suppressed, {} missing\n",
        time(Some(r.computed_at)),
        r.coverage.answered.len(),
        r.coverage.suppressed,
        r.coverage.missing
    );
    if r.coverage.complete() {
        out.push_str("coverage: complete\n");
    } else {
        out.push_str("coverage: PARTIAL\n");
        for f in &r.coverage.failed {
            out.push_str(&format!(
                "  missing {} from {} ({}): {}\n",
                f.dataset, f.node_id, f.name, f.reason
            ));
        }
    }
    out
}
