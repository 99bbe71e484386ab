//! The `passerelle-hub` command-line contract, driven through the binary.

use std::{
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

fn hub(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_passerelle-hub"))
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run passerelle-hub")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Demo institutions: the nodes `passerelle-hub demo` starts.
fn demo_nodes() -> usize {
    passerelle_hub::demo::INSTITUTIONS.len()
}

/// Quarters of the demo's generated data.
fn demo_quarters() -> usize {
    passerelle_hub::demo::data::PERIODS.len()
}

/// Indicators in the catalog files the hub ships (built into it from
/// `hub/observatory/catalog/`), counted from their text.
fn shipped_indicators() -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("observatory/catalog");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|text| text.lines().filter(|l| l.trim() == "[[indicator]]").count())
        .sum()
}

/// The indicators of the demo's own local catalog (a theme of its own, a
/// partner-only indicator), added to the shipped ones.
fn demo_indicators() -> usize {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/demo/catalog.toml"),
    )
    .unwrap();
    text.lines().filter(|l| l.trim() == "[[indicator]]").count()
}

/// `PSL1-<secret>-<CA fingerprint>`: 16 random bytes and a SHA-256, in hex.
fn is_token(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("PSL1-") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('-').collect();
    parts.len() == 2
        && parts[0].len() == 32
        && parts[1].len() == 64
        && rest
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn init_enroll_and_listings_follow_the_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    let out = hub(&dir, &["init", "--public-name", "hub.example.org"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&std::fs::read(dir.join("hub.toml")).unwrap()).contains("\"hub.example.org\""));

    // The token alone on stdout, the hint on stderr.
    let out = hub(
        &dir,
        &["enroll", "--node-id", "caf-976", "--name", "CAF de Mayotte"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    assert!(is_token(stdout.trim_end()), "{stdout:?}");
    assert!(stdout.ends_with('\n'));
    assert!(text(&out.stderr).contains("passerelle-node init"));

    // A token is not an enrollment: the registry stays empty until a node
    // redeems it.
    let json = hub(&dir, &["nodes", "--format", "json"]);
    assert!(json.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        rows.as_array().unwrap().len(),
        0,
        "a token is not an enrollment"
    );

    let csv = hub(&dir, &["nodes", "--format", "csv"]);
    assert_eq!(
        text(&csv.stdout),
        "node_id,name,connected,last_seen,cert_expires,version,status,revoked_at\n"
    );
    let bad = hub(&dir, &["nodes", "--format", "xml"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("use table, csv or json"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn bad_input_gives_a_clear_error_and_a_non_zero_exit() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nowhere");
    let out = hub(&missing, &["nodes"]);
    // 1: the command failed (`ExitCode::FAILURE`); 2 below: clap refused
    // an argument.
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no such folder"),
        "{}",
        text(&out.stderr)
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = hub(&empty, &["nodes"]);
    assert!(
        text(&out.stderr).contains("not a hub folder"),
        "{}",
        text(&out.stderr)
    );

    let dir = tmp.path().join("hub");
    assert!(hub(&dir, &["init"]).status.success());
    let again = hub(&dir, &["init"]);
    assert!(!again.status.success() && text(&again.stderr).contains("already holds a hub"));

    let out = hub(&dir, &["enroll", "--node-id", "CAF 976", "--name", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("invalid node id"),
        "{}",
        text(&out.stderr)
    );

    let out = hub(&dir, &["revoke", "--node-id", "inconnu"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("unknown node inconnu"),
        "{}",
        text(&out.stderr)
    );

    let config = dir.join("hub.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, good.replace("token_ttl", "token_tll")).unwrap();
    let out = hub(&dir, &["nodes"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("hub.toml") && err.contains("key `token_tll`") && err.contains("line "),
        "{err}"
    );
    assert!(err.contains("unknown field"), "{err}");

    std::fs::write(
        &config,
        good.replace(
            "quic_listen = \"0.0.0.0:4433\"",
            "quic_listen = \"partout\"",
        ),
    )
    .unwrap();
    let err = text(&hub(&dir, &["nodes"]).stderr);
    assert!(
        err.contains("key `quic_listen`") && err.contains("invalid socket address"),
        "{err}"
    );
}

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve`; its log goes to `log` (shown when a wait fails).
fn serve(dir: &Path, quic: &str, log: &Path) -> Serving {
    let child = Command::new(env!("CARGO_BIN_EXE_passerelle-hub"))
        .arg("--dir")
        .arg(dir)
        .args([
            "serve",
            "--quic-listen",
            quic,
            "--http-listen",
            "127.0.0.1:0",
        ])
        .env("PASSERELLE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("spawn serve");
    let s = Serving(child);
    wait_until("admin socket answers", || {
        std::fs::read_to_string(log).is_ok_and(|l| l.contains("hub started"))
            && hub(dir, &["nodes"]).status.success()
    });
    s
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn connected(dir: &Path, node: &str) -> bool {
    let out = hub(dir, &["nodes", "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    rows.as_array().is_some_and(|r| {
        r.iter()
            .any(|r| r["node_id"] == node && r["connected"] == true)
    })
}

fn free_udp_port() -> String {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().to_string()
}

/// Commands reach a running hub through its admin socket, and a hub
/// process killed outright comes back on the same address: its node
/// reconnects by itself.
#[test]
fn serving_hub_answers_commands_and_survives_a_kill() {
    passerelle_certs::install_crypto_provider();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    assert!(hub(&dir, &["init"]).status.success());
    let quic = free_udp_port();
    let logs = tmp.path();
    let mut serving = serve(&dir, &quic, &logs.join("serve-1.log"));

    // While serve holds the store, enroll works through the admin socket.
    let out = hub(&dir, &["enroll", "--node-id", "caf-976", "--name", "CAF"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let node_root = tmp.path().join("node");
    let node = rt.block_on(async {
        let nd = passerelle_node::paths::NodeDir::create(&node_root).unwrap();
        passerelle_node::enroll::init(&nd, quic.parse().unwrap(), &token)
            .await
            .unwrap();
        let path = nd.config();
        let mut c = passerelle_config::NodeConfig::load(&path).unwrap();
        c.link.reconnect_min = Duration::from_millis(50);
        c.link.reconnect_max = Duration::from_millis(300);
        std::fs::write(&path, c.template()).unwrap();
        passerelle_node::serve::start(&node_root).await.unwrap()
    });
    wait_until("node connected", || connected(&dir, "caf-976"));

    // SIGKILL: no goodbye to the node, a stale admin socket left behind.
    serving.0.kill().unwrap();
    serving.0.wait().unwrap();
    drop(serving);
    assert!(
        dir.join("admin.sock").exists(),
        "a killed process leaves its socket"
    );
    let stopped = text(&hub(&dir, &["nodes", "--format", "csv"]).stdout);
    assert!(stopped.contains("caf-976,CAF,no,"), "{stopped}");

    let _serving = serve(&dir, &quic, &logs.join("serve-2.log"));
    let deadline = Instant::now() + Duration::from_secs(15);
    while !connected(&dir, "caf-976") {
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(logs.join("serve-2.log")).unwrap_or_default();
            panic!(
                "node did not reconnect after the kill; node link: {:?}\nhub log:\n{log}",
                node.link()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    rt.block_on(node.stop());
}

/// The README's first command: the demo starts a hub and five fictitious
/// institutions over real QUIC, and the portal says the data is fictitious.
#[test]
fn demo_starts_five_connected_nodes_and_the_portal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let log = tmp.path().join("demo.log");
    let child = Command::new(env!("CARGO_BIN_EXE_passerelle-hub"))
        .arg("--dir")
        .arg(&dir)
        .args([
            "demo",
            "--quic-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _demo = Serving(child);
    wait_until("five demo nodes connected", || {
        let out = hub(&dir, &["nodes", "--format", "json"]);
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        rows.as_array()
            .is_some_and(|r| r.len() == demo_nodes() && r.iter().all(|r| r["connected"] == true))
    });
    let out = hub(&dir, &["nodes", "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["name"].as_str().unwrap().contains("fictif")));
    // Typed values, not table text: a boolean, RFC 3339 times, null for
    // what is missing.
    for r in rows.as_array().unwrap() {
        assert!(r["connected"].is_boolean(), "{r}");
        let expires = r["cert_expires"].as_str().unwrap();
        assert!(
            expires.len() == "2026-12-03T05:00:00Z".len()
                && expires.ends_with('Z')
                && expires.as_bytes()[10] == b'T',
            "{r}"
        );
        assert!(r["last_seen"].is_null() || r["last_seen"].as_str().unwrap().ends_with('Z'));
        assert_eq!(r["status"], "enrolled", "{r}");
        assert!(r["revoked_at"].is_null(), "{r}");
    }

    wait_until("demo printed its addresses", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("portal on http://"))
    });
    let log_text = std::fs::read_to_string(&log).unwrap();
    let addr = log_text
        .split("portal on http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut page = String::new();
    s.read_to_string(&mut page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("lang=\"fr\"") && page.contains("fictifs"),
        "{page}"
    );
    let n = demo_nodes();
    assert!(
        page.contains(&format!("{n} partenaire(s) connecté(s) sur {n} inscrit(s)")),
        "{page}"
    );
    assert!(
        page.to_ascii_lowercase()
            .contains("content-security-policy"),
        "{page}"
    );

    // The observatory through the demo's admin socket.
    let list = hub(&dir, &["indicators", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        shipped_indicators() + demo_indicators()
    );
    // The demo's own theme is public; its partner-only indicator is listed
    // for the operator but not in the public catalog.
    let get = |path: &str| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut page = String::new();
        s.read_to_string(&mut page).unwrap();
        page
    };
    const RESERVED: &str = "contrats-engagement-jeunes-reserve";
    assert!(list.to_string().contains(RESERVED));
    let theme = get("/theme/jeunesse");
    assert!(
        theme.starts_with("HTTP/1.1 200") && theme.contains("<h1>Jeunesse</h1>"),
        "{theme}"
    );
    let public = get("/api/catalog");
    assert!(
        public.starts_with("HTTP/1.1 200") && !public.contains(RESERVED),
        "{public}"
    );
    // Breakdowns: one dataset published in total, by sex and by age band;
    // one dataset added up over two institutions, by sex too; each
    // breakdown's categories add up to the total where all are released.
    let api = |id: &str| -> serde_json::Value {
        let page = get(&format!("/api/indicators/{id}"));
        let (head, body) = page.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        serde_json::from_str(body).unwrap()
    };
    for (id, by, providers) in [
        ("demandeurs-emploi", &["sexe", "tranche_age"][..], 1),
        ("entrees-formation", &["sexe"][..], 2),
        ("personnes-recues", &["sexe", "motif"][..], 1),
    ] {
        let v = api(id);
        assert_eq!(v["coverage"]["contributions_expected"], providers, "{id}");
        assert_eq!(v["coverage"]["complete"], true, "{id}");
        let bds = v["breakdowns"].as_array().unwrap();
        let names: Vec<&str> = bds.iter().map(|b| b["by"].as_str().unwrap()).collect();
        assert_eq!(names, by, "{id}");
        for b in bds {
            assert_eq!(b["published"], true, "{id} {}", b["by"]);
            for t in v["cells"].as_array().unwrap() {
                let parts: Vec<&serde_json::Value> = b["cells"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|c| c["code"] == t["code"] && c["period"] == t["period"])
                    .collect();
                assert_eq!(parts.len(), b["categories"].as_array().unwrap().len());
                if parts.iter().all(|c| c["value"].is_number()) && t["value"].is_number() {
                    let sum: f64 = parts.iter().map(|c| c["value"].as_f64().unwrap()).sum();
                    assert_eq!(sum, t["value"].as_f64().unwrap(), "{id} {} {t}", b["by"]);
                }
            }
        }
    }
    let sheet = get("/indicateur/demandeurs-emploi");
    assert!(
        sheet.contains("Répartition par sexe") && sheet.contains("Répartition par tranche d'âge"),
        "{sheet}"
    );

    let out = hub(
        &dir,
        &[
            "indicator",
            "rsa-pour-1000",
            "--level",
            "department",
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["complete"], true, "{v}");
    let cells = v["cells"].as_array().unwrap();
    assert_eq!(
        cells.len(),
        demo_quarters(),
        "one department, each quarter: {v}"
    );
    // The demo draws RSA households at a rate per inhabitant and quarter
    // (0.030, so about 30 per 1,000): a third of it rules out a value that
    // is not the department's.
    let rsa = passerelle_hub::demo::data::datasets("caf-976")
        .iter()
        .find(|d| d.name == "rsa")
        .unwrap();
    let floor = rsa.rate * 1000.0 / 3.0;
    assert!(
        cells
            .iter()
            .all(|c| c["status"] == "Released" && c["value"].as_f64().unwrap() > floor),
        "{v}"
    );
    let out = hub(
        &dir,
        &[
            "indicator",
            "rsa",
            "--refresh",
            "--level",
            "epci",
            "--format",
            "csv",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A header, then one line per EPCI and quarter.
    assert_eq!(
        text(&out.stdout).lines().count(),
        1 + passerelle_protocol::geo::EPCIS.len() * demo_quarters()
    );
    let out = hub(&dir, &["verify-indicator", "rsa"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("all identical"),
        "{}",
        text(&out.stderr)
    );
    // The generated files are there, said to be fictitious.
    assert!(
        std::fs::read_to_string(dir.join("demo-data/caf-976/LISEZMOI.txt"))
            .unwrap()
            .contains("FICTIVES")
    );
    assert!(dir.join("demo-data/caf-976/rsa.csv").exists());
}

#[test]
fn a_bad_catalog_entry_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    assert!(hub(&dir, &["init"]).status.success());
    let catalog = tmp.path().join("indicateurs");
    std::fs::create_dir(&catalog).unwrap();
    std::fs::write(
        catalog.join("local.toml"),
        "[[indicator]]\nid = \"x\"\ntitle = \"X\"\ntheme = \"sport\"\nunit = \"u\"\ndefinition = \"d\"\nsources = [\"s\"]\nfrequency = \"f\"\nformula = \"sum\"\nnumerator = [\"a\"]\n",
    )
    .unwrap();
    let config = dir.join("hub.toml");
    let text0 = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!(
            "{text0}\ncatalog_dir = {:?}\n",
            catalog.display().to_string()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_passerelle-hub"))
        .arg("--dir")
        .arg(&dir)
        .args([
            "serve",
            "--quic-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("local.toml")
            && err.contains("indicator \"x\"")
            && err.contains("unknown theme \"sport\""),
        "{err}"
    );
}

#[test]
fn check_config_validates_without_starting() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    assert!(hub(&dir, &["init"]).status.success());
    let out = hub(&dir, &["check-config"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ok = format!("ok — {} indicator(s), map: schematic", shipped_indicators());
    assert!(text(&out.stderr).contains(&ok), "{}", text(&out.stderr));

    let config = dir.join("hub.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!(
            "{good}\nboundaries = \"{}\"\n",
            tmp.path().join("absent.geojson").display()
        ),
    )
    .unwrap();
    let out = hub(&dir, &["check-config"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("absent.geojson"),
        "{}",
        text(&out.stderr)
    );

    std::fs::write(&config, &good).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("ca.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = hub(&dir, &["check-config"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("chmod 600"),
        "{}",
        text(&out.stderr)
    );
}

/// `PASSERELLE_LOG_FORMAT=json`: one JSON object per log line, with the
/// level, the message and its fields.
#[test]
fn logs_are_json_lines_on_demand() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    assert!(hub(&dir, &["init"]).status.success());
    let log = tmp.path().join("serve.log");
    let child = Command::new(env!("CARGO_BIN_EXE_passerelle-hub"))
        .arg("--dir")
        .arg(&dir)
        .args([
            "serve",
            "--quic-listen",
            &free_udp_port(),
            "--http-listen",
            "127.0.0.1:0",
        ])
        .env("PASSERELLE_LOG", "info")
        .env("PASSERELLE_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _serving = Serving(child);
    wait_until("hub started", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("hub started"))
    });
    let text = std::fs::read_to_string(&log).unwrap();
    let started = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))
        })
        .find(|v| v["message"] == "hub started")
        .expect("start line");
    assert_eq!(started["level"], "INFO");
    assert!(
        started["http"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "{started}"
    );
}

#[test]
fn datasets_commands_list_decide_and_refuse_unknown_nodes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    assert!(hub(&dir, &["init"]).status.success());
    let out = hub(&dir, &["datasets", "pending", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows, serde_json::json!([]));
    let out = hub(&dir, &["datasets", "list", "--format", "csv"]);
    assert_eq!(
        text(&out.stdout),
        "node_id,name,dataset,state,decided_at,first_claimed,reported\n"
    );
    let out = hub(
        &dir,
        &[
            "datasets",
            "allow",
            "--node-id",
            "ghost",
            "--dataset",
            "rsa",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown node ghost"),
        "{}",
        text(&out.stderr)
    );
    let out = hub(&dir, &["datasets", "allow", "--all-current"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no claim was pending"));
    // Either one claim or every current one, not both, not neither.
    assert!(!hub(
        &dir,
        &["datasets", "allow", "--all-current", "--node-id", "x"]
    )
    .status
    .success());
    assert!(!hub(&dir, &["datasets", "allow"]).status.success());
}
