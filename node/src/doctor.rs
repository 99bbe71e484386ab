//! `passerelle-node doctor`: checks, in order, the configuration, the
//! clock against the hub's, the certificate, DNS and UDP reachability of
//! the hub, the QUIC handshake, the store, and free disk; a plain verdict
//! with a fix for every failure.
//!
//! The network checks use a separate diagnostic connection (ALPN
//! `passerelle-probe/1`): the hub answers with its clock and whether it
//! admits this node's certificate, and registers nothing, so a doctor run
//! never disturbs the node's serving link.

use std::{path::Path, time::Duration};

use passerelle_certs::{tls, HubIdentity};
use passerelle_config::NodeConfig;
use passerelle_link::{endpoint, stream};
use passerelle_protocol::{frame::MAX_CONTROL_FRAME, message::ProbeReply, UnixTime, ALPN_PROBE};
use serde::{Deserialize, Serialize};

use crate::{handshake::Handshake, identity::Credentials, paths::NodeDir};

/// Certificate life left under which the doctor warns.
pub const EXPIRY_WARNING: u64 = 14 * 86400;
/// Free disk under which the doctor warns.
pub const MIN_FREE_DISK: u64 = 1 << 30;

/// How a check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, but needs attention soon.
    Warn,
    /// Broken: the node cannot work until it is fixed.
    Fail,
    /// Not checked, because an earlier check failed.
    Skipped,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// How it went.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about it, when something is wrong.
    pub fix: Option<String>,
}

/// Every check, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }

    /// The check of a name.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

fn ok(name: &'static str, detail: String) -> Check {
    Check {
        name,
        status: Status::Ok,
        detail,
        fix: None,
    }
}

fn fail(name: &'static str, detail: String, fix: &str) -> Check {
    Check {
        name,
        status: Status::Fail,
        detail,
        fix: Some(fix.to_string()),
    }
}

fn skipped(name: &'static str, why: &str) -> Check {
    Check {
        name,
        status: Status::Skipped,
        detail: why.to_string(),
        fix: None,
    }
}

fn days(secs: u64) -> String {
    format!("{:.1} day(s)", secs as f64 / 86400.0)
}

/// What the probe found.
enum Probe {
    /// No address for the host name.
    Dns(String),
    /// Resolved; nothing answered over UDP in time.
    Silent(std::net::SocketAddr),
    /// Answered; the handshake failed.
    Handshake(std::net::SocketAddr, Handshake),
    /// The hub answered.
    Answered(std::net::SocketAddr, ProbeReply),
}

/// How the probe's exchange failed.
enum ProbeError {
    /// Nothing came back in time.
    Silent,
    /// The handshake or the exchange failed.
    Failed(Handshake),
}

async fn probe(
    config: &NodeConfig,
    creds: &Credentials,
    now: UnixTime,
    patience: Duration,
) -> Probe {
    let addr = match tokio::net::lookup_host((config.hub.host.as_str(), config.hub.port)).await {
        Err(e) => return Probe::Dns(e.to_string()),
        Ok(mut a) => match a.next() {
            Some(a) => a,
            None => return Probe::Dns("no address".into()),
        },
    };
    let client = tls::node_client_config_watched(
        &creds.cas,
        std::slice::from_ref(&creds.cert_der),
        &creds.key_pkcs8,
    )
    .map_err(|e| e.to_string())
    .and_then(|(mut tls, watch)| {
        tls.alpn_protocols = vec![ALPN_PROBE.to_vec()];
        endpoint::client_config(tls, Default::default())
            .map(|c| (c, watch))
            .map_err(|e| e.to_string())
    });
    let (client, watch) = match client {
        Ok(c) => c,
        Err(e) => return Probe::Handshake(addr, Handshake::Other(e)),
    };
    let ep = match endpoint::client(addr) {
        Ok(ep) => ep,
        Err(e) => return Probe::Handshake(addr, Handshake::Other(e.to_string())),
    };
    let work = async {
        let failed = |e: quinn::ConnectionError| match e {
            quinn::ConnectionError::TimedOut => ProbeError::Silent,
            e => ProbeError::Failed(Handshake::from_connection(&e, &watch, &creds.identity, now)),
        };
        let conn = ep
            .connect_with(client, addr, &config.hub.host)
            .map_err(|e| ProbeError::Failed(Handshake::Other(e.to_string())))?
            .await
            .map_err(failed)?;
        if endpoint::peer_cert(&conn)
            .map(|d| HubIdentity::from_der(&d))
            .is_none_or(|r| r.is_err())
        {
            return Err(ProbeError::Failed(Handshake::HubNotTrusted(
                "the peer's certificate is not a hub certificate".to_string(),
            )));
        }
        // Under TLS 1.3 a refused client certificate shows only once the
        // hub talks: the connection's close reason says why.
        let reply: ProbeReply = stream::exchange(
            &conn,
            &passerelle_protocol::PROTOCOL_VERSION,
            MAX_CONTROL_FRAME,
            patience,
        )
        .await
        .map_err(|e| match conn.close_reason() {
            Some(reason) => failed(reason),
            None if matches!(e, passerelle_link::LinkError::Timeout(_)) => ProbeError::Silent,
            None => ProbeError::Failed(Handshake::Other(e.to_string())),
        })?;
        conn.close(0u32.into(), b"doctor done");
        Ok(reply)
    };
    let result = tokio::time::timeout(patience, work).await;
    ep.close(0u32.into(), b"doctor done");
    match result {
        Err(_) | Ok(Err(ProbeError::Silent)) => Probe::Silent(addr),
        Ok(Err(ProbeError::Failed(h))) => Probe::Handshake(addr, h),
        Ok(Ok(r)) => Probe::Answered(addr, r),
    }
}

/// The checks after `config`, skipped for `why`.
fn skip_rest(checks: &mut Vec<Check>, why: &str) {
    const AFTER_CONFIG: [&str; 9] = [
        "clock",
        "certificate",
        "dns",
        "udp",
        "quic",
        "store",
        "hub-chain",
        "debris",
        "disk",
    ];
    checks.extend(AFTER_CONFIG.iter().map(|n| skipped(n, why)));
}

/// The node's folder, configuration and credentials, or the failed
/// `config` check and why the rest cannot run.
fn load(root: &Path) -> Result<(NodeDir, NodeConfig, Credentials), (Check, &'static str)> {
    let dir = NodeDir::existing(root).map_err(|e| {
        (
            fail("config", e.to_string(), "give the node's folder with --dir"),
            "no node folder",
        )
    })?;
    let config = NodeConfig::load(&dir.config()).map_err(|e| {
        (
            fail(
                "config",
                e.to_string(),
                "edit node.toml as the message says, then run passerelle-node check-config",
            ),
            "no usable configuration",
        )
    })?;
    let creds = Credentials::load(&dir).map_err(|e| {
        (
            fail(
                "config",
                e.to_string(),
                "restore node.key, node.crt and ca.crt from your backup, or enroll again",
            ),
            "no usable key or certificate",
        )
    })?;
    if creds.identity.node_id != config.node_id {
        return Err((
            fail(
                "config",
                format!(
                    "node_id is {} but the certificate names {}",
                    config.node_id, creds.identity.node_id
                ),
                "set node_id in node.toml to the certificate's",
            ),
            "configuration and certificate disagree",
        ));
    }
    Ok((dir, config, creds))
}

/// Runs every check. `now` is this machine's clock.
pub async fn run(root: &Path, now: UnixTime, patience: Duration) -> Report {
    let mut checks = Vec::new();
    let (dir, config, creds) = match load(root) {
        Ok(loaded) => loaded,
        Err((check, why)) => {
            checks.push(check);
            skip_rest(&mut checks, why);
            return Report { checks };
        }
    };
    checks.push(ok(
        "config",
        format!(
            "node {} ({}), hub {}, {} dataset(s)",
            config.node_id,
            creds.identity.institution,
            config.hub,
            config.datasets.len()
        ),
    ));
    let probed = probe(&config, &creds, now, patience).await;
    checks.push(clock_check(&probed, &config, now));
    checks.push(certificate_check(&creds.identity, now));
    checks.extend(network_checks(&probed, &config, patience));
    checks.push(store_check(&dir).await);
    checks.push(hub_chain_check(root).await);
    checks.push(debris_check(root).await);
    checks.push(disk_check(root));
    Report { checks }
}

/// The clock against the hub's.
fn clock_check(probed: &Probe, config: &NodeConfig, now: UnixTime) -> Check {
    let r = match probed {
        Probe::Answered(_, r) => r,
        Probe::Handshake(_, h) if h.is_clock() => {
            let (what, fix, detail) = h.explain();
            return fail("clock", format!("{what} ({detail})"), fix);
        }
        _ => return skipped("clock", "the hub did not answer"),
    };
    let skew = now.abs_diff(r.hub_time);
    let side = if now > r.hub_time {
        "ahead of"
    } else {
        "behind"
    };
    // The hub's queries are refused beyond the configured clock window, so
    // that window, and nothing stricter, is what fails the check.
    let window = config.link.clock_window.as_secs();
    if skew > window {
        fail(
            "clock",
            format!("this machine's clock is {skew} s {side} the hub's (link.clock_window allows {window} s)"),
            "synchronise the clock (systemd-timesyncd or chrony: timedatectl set-ntp true)",
        )
    } else if skew > window / 2 {
        Check {
            name: "clock",
            status: Status::Warn,
            detail: format!("this machine's clock is {skew} s {side} the hub's, more than half of link.clock_window ({window} s)"),
            fix: Some("synchronise the clock (systemd-timesyncd or chrony: timedatectl set-ntp true)".into()),
        }
    } else {
        ok(
            "clock",
            format!("{skew} s from the hub's clock (link.clock_window allows {window} s)"),
        )
    }
}

/// The node's certificate: in force, and for how long.
fn certificate_check(id: &passerelle_certs::NodeIdentity, now: UnixTime) -> Check {
    if now >= id.not_after {
        fail(
            "certificate",
            format!(
                "expired on {}",
                passerelle_link::output::time(Some(id.not_after))
            ),
            "the node renews it over the link before expiry; once expired, ask the hub administrator for a token and enroll again",
        )
    } else if now < id.not_before {
        fail(
            "certificate",
            format!(
                "not valid before {} (is this machine's clock behind?)",
                passerelle_link::output::time(Some(id.not_before))
            ),
            "synchronise the clock",
        )
    } else if id.not_after - now < EXPIRY_WARNING {
        Check {
            name: "certificate",
            status: Status::Warn,
            detail: format!("expires in {}", days(id.not_after - now)),
            fix: Some(
                "keep passerelle-node serve running: it renews the certificate over the link"
                    .into(),
            ),
        }
    } else {
        ok(
            "certificate",
            format!(
                "valid {} more, serial {}",
                days(id.not_after - now),
                id.serial
            ),
        )
    }
}

/// DNS, UDP and QUIC, from what the probe found.
fn network_checks(probed: &Probe, config: &NodeConfig, patience: Duration) -> [Check; 3] {
    let host = &config.hub.host;
    let port = config.hub.port;
    let resolved = |addr: &std::net::SocketAddr| ok("dns", format!("{host} is {}", addr.ip()));
    let answers = |addr: &std::net::SocketAddr| ok("udp", format!("{addr} answers over UDP"));
    match probed {
        Probe::Dns(e) => [
            fail(
                "dns",
                format!("cannot resolve {host}: {e}"),
                "check the host name in node.toml (hub =) and this machine's DNS (/etc/resolv.conf)",
            ),
            skipped("udp", "no address"),
            skipped("quic", "no address"),
        ],
        Probe::Silent(addr) => [
            resolved(addr),
            fail(
                "udp",
                format!("no answer from {addr} over UDP within {} s", patience.as_secs()),
                &format!("check that the hub runs, and that this site's firewall allows outbound UDP to port {port} (and the replies)"),
            ),
            skipped("quic", "no answer over UDP"),
        ],
        Probe::Handshake(addr, h) => {
            let (what, fix, e) = h.explain();
            [resolved(addr), answers(addr), fail("quic", format!("{what}: {e}"), fix)]
        }
        Probe::Answered(addr, r) => [
            resolved(addr),
            answers(addr),
            match &r.admitted {
                Some(n) if n == &config.node_id => ok(
                    "quic",
                    format!(
                        "mutual TLS with the hub (version {}, protocol {}); this node's certificate is admitted",
                        r.version, r.protocol
                    ),
                ),
                _ => fail(
                    "quic",
                    "the hub answered but does not admit this node's certificate".into(),
                    "ask the hub administrator (passerelle-hub nodes); enroll again if it was revoked",
                ),
            },
        ],
    }
}

async fn store_check(dir: &NodeDir) -> Check {
    let problems = match passerelle_link::admin::call::<_, crate::admin::Response>(
        dir.root(),
        &crate::admin::Request::CheckStore,
    )
    .await
    {
        Ok(Some(crate::admin::Response::Problems(p))) => Ok(p),
        Ok(Some(crate::admin::Response::Error(e))) => Err(e.message),
        Ok(Some(_)) => Err("unexpected reply from the running node".into()),
        Ok(None) => match crate::store::Store::open(&dir.store()) {
            Ok(store) => store
                .check(&crate::vault::DocFiles::new(dir.root()))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    match problems {
        Ok(p) if p.is_empty() => ok("store", "every record reads back; audit chain intact; every document file present".into()),
        Ok(p) => fail(
            "store",
            p.join("; "),
            "restore the store from the last backup (passerelle-node restore); keep the damaged folder for analysis",
        ),
        Err(e) => fail("store", e, "check the store folder's permissions and disk"),
    }
}

/// Whether the hub's audit chain still holds every head it showed here.
async fn hub_chain_check(root: &Path) -> Check {
    match crate::admin::request(root, crate::admin::Request::HubHeads, &mut |_| {}).await {
        Ok(crate::admin::Response::HubHeads(_, Some(d))) => fail(
            "hub-chain",
            format!(
                "the hub's audit chain diverged at record {}: {} (found {})",
                d.at,
                d.why,
                passerelle_link::output::time(Some(d.found_at))
            ),
            "keep this node's store as evidence (passerelle-node backup) and tell the hub's operator and DEETS",
        ),
        Ok(crate::admin::Response::HubHeads(heads, None)) => match heads.first() {
            None => ok("hub-chain", "no head of the hub's audit chain received yet".into()),
            Some(h) => ok(
                "hub-chain",
                format!(
                    "{} head(s) of the hub's audit chain kept, the newest of {} records {}",
                    heads.len(),
                    h.records,
                    match h.confirmed_at {
                        Some(t) => format!("confirmed {}", passerelle_link::output::time(Some(t))),
                        None => "not confirmed yet".into(),
                    }
                ),
            ),
        },
        Ok(_) => fail("hub-chain", "unexpected reply from the running node".into(), "run the same version of passerelle-node as the one serving"),
        Err(e) => fail("hub-chain", e.to_string(), "check the store folder's permissions and disk"),
    }
}

/// Partial and orphan document files of interrupted deposits.
async fn debris_check(root: &Path) -> Check {
    let req = crate::admin::Request::Debris { remove: false };
    match crate::admin::request(root, req, &mut |_| {}).await {
        Ok(crate::admin::Response::Debris(d)) if d.count() == 0 => {
            ok("debris", "no partial or orphan document file".into())
        }
        Ok(crate::admin::Response::Debris(d)) => Check {
            name: "debris",
            status: Status::Warn,
            detail: d.describe(),
            fix: Some(clean_command(root)),
        },
        Ok(_) => fail(
            "debris",
            "unexpected reply from the running node".into(),
            "restart the node (passerelle-node serve)",
        ),
        Err(e) => fail(
            "debris",
            e.to_string(),
            "check the documents folder's permissions and disk",
        ),
    }
}

/// The command that removes a node folder's debris.
pub fn clean_command(root: &Path) -> String {
    format!("passerelle-node doctor --clean --dir {}", root.display())
}

/// Removes the debris of interrupted deposits (through the running node
/// when there is one, which knows the deposits in progress); returns what
/// was removed.
///
/// # Errors
/// When the folder is not a node folder, or the documents folder or the
/// store cannot be read.
pub async fn clean(root: &Path) -> Result<crate::debris::NodeDebris, crate::NodeError> {
    let req = crate::admin::Request::Debris { remove: true };
    match crate::admin::request(root, req, &mut |_| {}).await? {
        crate::admin::Response::Debris(d) => Ok(d),
        _ => Err(crate::NodeError::Refused(
            "unexpected reply from the running node; restart it".into(),
        )),
    }
}

fn disk_check(root: &Path) -> Check {
    let out = std::process::Command::new("df")
        .args(["-P", "-k"])
        .arg(root)
        .output();
    let free = out.ok().and_then(|o| {
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let line = text.lines().nth(1)?.to_string();
        line.split_whitespace().nth(3)?.parse::<u64>().ok()
    });
    match free.map(|k| k * 1024) {
        None => Check {
            name: "disk",
            status: Status::Warn,
            detail: "free space unknown (df failed)".into(),
            fix: Some("check free space by hand: df -h".into()),
        },
        Some(b) if b < MIN_FREE_DISK / 4 => fail(
            "disk",
            format!("{} MB free", b >> 20),
            "free disk space on the node's volume",
        ),
        Some(b) if b < MIN_FREE_DISK => Check {
            name: "disk",
            status: Status::Warn,
            detail: format!("{} MB free", b >> 20),
            fix: Some("free disk space soon".into()),
        },
        Some(b) => ok("disk", format!("{} MB free", b >> 20)),
    }
}

/// The report as text: one line per check, then the verdict.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    for c in &r.checks {
        let mark = match c.status {
            Status::Ok => "ok  ",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skipped => "--  ",
        };
        out.push_str(&format!("{mark} {:<12} {}\n", c.name, c.detail));
        if let Some(f) = &c.fix {
            out.push_str(&format!("     {:<12} fix: {f}\n", ""));
        }
    }
    let failed = r.checks.iter().filter(|c| c.status == Status::Fail).count();
    out.push_str(&if failed == 0 {
        "verdict: the node is ready\n".to_string()
    } else {
        format!("verdict: {failed} problem(s) to fix, in the order above\n")
    });
    out
}
