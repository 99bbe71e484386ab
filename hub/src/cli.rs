//! The `passerelle-hub` command line. Human text goes to stderr, machine
//! output (tokens, listings) to stdout.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Parser, Subcommand};
use passerelle_link::output::{time, Cell, Format, Listing};
use passerelle_protocol::{
    geo::{self, Level},
    ids::NodeId,
};

use passerelle_hub_core::{init, ops::NodeRow, paths::HubDir, HubError, Refusal};
use passerelle_observatory::{
    catalog::Indicator,
    compose::{ResultCell, Status},
    IndicatorResult,
};

use crate::{
    admin::{self, Request, Response},
    server::{self, Listen},
};

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
    /// The registry: id, name, connected, last seen, certificate expiry.
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
}

/// Runs a parsed command line.
///
/// # Errors
/// Any failure, for `main` to print.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let dir = |default: &str| cli.dir.clone().unwrap_or_else(|| PathBuf::from(default));
    match cli.command {
        Command::Init { name, public_names } => {
            let root = dir(".");
            let config = init::init(&HubDir::create(&root)?, name, public_names)?;
            eprintln!(
                "hub initialised in {}\ncertificate names: {}\nnext: passerelle-hub serve --dir {}",
                root.display(),
                config.public_names.join(", "),
                root.display()
            );
        }
        Command::Enroll { node_id, name } => {
            let root = dir(".");
            let Response::Token(token) = admin::request(
                &root,
                Request::Enroll {
                    node_id: node_id.clone(),
                    name,
                },
            )
            .await?
            else {
                return Err(HubError::from(Refusal::UnexpectedReply).into());
            };
            println!("{token}");
            eprintln!(
                "one-time token for node {node_id}; on the node run:\n  passerelle-node init --hub HUB_HOST:PORT --token {token}"
            );
        }
        Command::Serve {
            quic_listen,
            http_listen,
        } => {
            let hub = server::start(
                &dir("."),
                Listen {
                    quic: quic_listen,
                    http: http_listen,
                },
                false,
            )
            .await?;
            eprintln!(
                "hub serving: QUIC on {} (UDP), portal on http://{}; Ctrl-C to stop",
                hub.quic_addr, hub.http_addr
            );
            passerelle_link::shutdown::signal().await;
            eprintln!("stopping");
            hub.stop().await;
        }
        Command::Nodes { format } => {
            let Response::Nodes(rows) = admin::request(&dir("."), Request::Nodes).await? else {
                return Err(HubError::from(Refusal::UnexpectedReply).into());
            };
            print!("{}", nodes_listing(&rows).render(format));
        }
        Command::Revoke { node_id } => {
            let Response::Revoked(r) =
                admin::request(&dir("."), Request::Revoke { node_id }).await?
            else {
                return Err(HubError::from(Refusal::UnexpectedReply).into());
            };
            eprintln!(
                "node {} revoked{}",
                r.node_id,
                if r.disconnected {
                    "; its connection was closed"
                } else {
                    ""
                }
            );
        }
        Command::CheckConfig => {
            let root = dir(".");
            let hub_dir = HubDir::existing(&root)?;
            let config = passerelle_config::HubConfig::load(&hub_dir.config())?;
            let catalog = passerelle_observatory::catalog::load(config.catalog_dir.as_deref())
                .map_err(|e| Refusal::BadFile {
                    what: "catalog".into(),
                    why: e.to_string(),
                })?;
            if let Some(path) = &config.boundaries {
                let text = std::fs::read_to_string(path).map_err(|source| HubError::Io {
                    path: path.clone(),
                    source,
                })?;
                passerelle_portal::map::Geometry::from_geojson(
                    &text,
                    &config.boundaries_code_property,
                )
                .map_err(|why| {
                    HubError::from(Refusal::BadFile {
                        what: format!("{} (boundaries in hub.toml)", path.display()),
                        why,
                    })
                })?;
            }
            if let (Some(cert), Some(key)) = (&config.https_cert, &config.https_key) {
                passerelle_portal::https::acceptor(cert, key)?;
            }
            for key in [hub_dir.ca_key(), hub_dir.hub_key()] {
                passerelle_certs::files::read_private_key(&key)?;
            }
            eprintln!(
                "{}: ok — {} indicator(s), map: {}, portal: {}",
                hub_dir.config().display(),
                catalog.len(),
                if config.boundaries.is_some() {
                    "configured boundaries"
                } else {
                    "schematic"
                },
                if config.https_cert.is_some() {
                    "HTTPS"
                } else {
                    "HTTP (reverse proxy)"
                }
            );
        }
        Command::Indicators { format } => {
            let Response::Indicators(list) = admin::request(&dir("."), Request::Indicators).await?
            else {
                return Err(HubError::from(Refusal::UnexpectedReply).into());
            };
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
        }
        Command::Indicator {
            id,
            level,
            refresh,
            format,
        } => {
            let Response::Indicator(ind, result) =
                admin::request(&dir("."), Request::Indicator { id, refresh }).await?
            else {
                return Err(HubError::from(Refusal::UnexpectedReply).into());
            };
            print!("{}", render_indicator(&ind, &result, level, format));
            if format == Format::Table {
                eprint!("{}", render_coverage(&result));
            }
        }
        Command::VerifyIndicator { id } => {
            let Response::Verified(v) = admin::request(&dir("."), Request::Verify { id }).await?
            else {
                return Err(HubError::from(Refusal::UnexpectedReply).into());
            };
            eprintln!(
                "indicator {} computed {}: {} signed contribution(s) verified against the CA; {} cell(s) recomputed, all identical",
                v.indicator,
                time(Some(v.computed_at)),
                v.contributions,
                v.cells
            );
        }
        Command::Partner { action } => match action {
            PartnerAction::Add {
                email,
                name,
                institution,
            } => {
                let Response::Password(p) = admin::request(
                    &dir("."),
                    Request::PartnerAdd {
                        email: email.clone(),
                        name,
                        institution,
                    },
                )
                .await?
                else {
                    return Err(HubError::from(Refusal::UnexpectedReply).into());
                };
                println!("{p}");
                eprintln!("account {email} created; give this initial password to its holder, once, by a safe channel");
            }
            PartnerAction::List { format } => {
                let Response::Partners(list) = admin::request(&dir("."), Request::Partners).await?
                else {
                    return Err(HubError::from(Refusal::UnexpectedReply).into());
                };
                let mut l = Listing::new(vec!["email", "name", "institution", "created"]);
                for (e, n, i, c) in list {
                    l.rows.push(vec![
                        Cell::text(e),
                        Cell::text(n),
                        Cell::text(i),
                        Cell::time(Some(c)),
                    ]);
                }
                print!("{}", l.render(format));
            }
            PartnerAction::Remove { email } => {
                admin::request(
                    &dir("."),
                    Request::PartnerRemove {
                        email: email.clone(),
                    },
                )
                .await?;
                eprintln!("account {email} removed");
            }
        },
        Command::Backup { to, include_keys } => {
            let to = std::path::absolute(&to).map_err(|source| HubError::Io {
                path: to.clone(),
                source,
            })?;
            if let Response::Backup(s, _) = admin::request(
                &dir("."),
                Request::Backup {
                    to: to.clone(),
                    include_keys,
                },
            )
            .await?
            {
                eprintln!("{}", s.written(&to, include_keys, "ca.key and hub.key"));
            }
        }
        Command::Restore { from } => {
            let from = std::path::absolute(&from).map_err(|source| HubError::Io {
                path: from.clone(),
                source,
            })?;
            if let Response::Backup(s, aside) =
                admin::request(&dir("."), Request::Restore { from }).await?
            {
                eprintln!("{}", s.restored(aside.as_deref()));
            }
        }
        Command::Ca { action } => {
            let root = dir(".");
            if !matches!(action, CaAction::Status)
                && passerelle_link::admin::call::<_, Response>(&root, &Request::Nodes)
                    .await?
                    .is_some()
            {
                return Err(HubError::from(Refusal::NeedsStoppedHub {
                    what: "run this, then start it again".into(),
                })
                .into());
            }
            match action {
                CaAction::Rotate => {
                    passerelle_hub_core::ops::rotate_ca(&root, passerelle_link::now())?;
                    eprintln!(
                        "CA rotation started: a new CA issues certificates; both CAs are trusted.
start the hub: connected nodes learn the new CA and renew their certificates.
when every node has renewed: stop the hub, run passerelle-hub ca finish, start it again"
                    );
                }
                CaAction::Finish { force } => {
                    let cut = passerelle_hub_core::ops::finish_ca_rotation(
                        &root,
                        force,
                        passerelle_link::now(),
                    )?;
                    eprintln!("CA rotation finished: only the new CA is trusted; the hub certificate comes from it (same key)");
                    if !cut.is_empty() {
                        eprintln!("cut off (enroll them again): {}", cut.join(", "));
                    }
                }
                CaAction::Status => {
                    let dir = passerelle_hub_core::paths::HubDir::existing(&root)?;
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
                }
            }
        }
        Command::Audit { action } => {
            let Response::Audit(check, records) = admin::request(&dir("."), Request::Audit).await?
            else {
                return Err(HubError::from(Refusal::UnexpectedReply).into());
            };
            match action {
                AuditAction::Verify => match check {
                    Ok(head) => eprintln!(
                        "audit chain intact: {} record(s), last hash {}",
                        head.records, head.hash
                    ),
                    Err(broken) => {
                        return Err(HubError::from(Refusal::AuditBroken {
                            why: broken.to_string(),
                        })
                        .into())
                    }
                },
                AuditAction::Show { format } => {
                    print!(
                        "{}",
                        passerelle_link::listings::audit(&records).render(format)
                    );
                }
            }
        }
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
    let cells: Vec<&ResultCell> = r
        .cells
        .iter()
        .filter(|c| level.is_none_or(|l| c.level == l))
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
    for c in cells {
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
