//! The `passerelle-node` command-line contract: bad input gives a clear
//! error and a non-zero exit.

use std::{
    path::Path,
    process::{Command, Output},
};

fn node(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_passerelle-node"))
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run passerelle-node")
}

/// `import` of `file` into `dataset`, by `agent`.
fn import(dir: &Path, dataset: &str, file: &Path) -> Output {
    node(
        dir,
        &[
            "import",
            "--dataset",
            dataset,
            "--by",
            "agent",
            file.to_str().unwrap(),
        ],
    )
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const TOKEN: &str = "PSL1-00112233445566778899aabbccddeeff-0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn malformed_hub_address_and_token_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = node(
        tmp.path(),
        &["init", "--hub", "hub.example.org", "--token", TOKEN],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err(&out).contains("invalid hub address") && err(&out).contains("HOST:PORT"),
        "{}",
        err(&out)
    );

    let out = node(
        tmp.path(),
        &["init", "--hub", "hub.example.org:99999", "--token", TOKEN],
    );
    assert_eq!(out.status.code(), Some(2));

    let out = node(
        tmp.path(),
        &["init", "--hub", "127.0.0.1:4433", "--token", "PSL1-abc"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).contains("malformed enrollment token"),
        "{}",
        err(&out)
    );
    assert!(
        !tmp.path().join("node.key").exists(),
        "nothing written on failure"
    );
}

#[test]
fn unreachable_hub_is_reported_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    // A UDP port nobody listens on.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = node(
        tmp.path(),
        &[
            "init",
            "--hub",
            &format!("127.0.0.1:{port}"),
            "--token",
            TOKEN,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let e = err(&out);
    assert!(e.contains("cannot reach the hub at 127.0.0.1"), "{e}");
    assert!(
        e.contains("hint:") && e.contains(&format!("outbound UDP to port {port}")),
        "{e}"
    );
    assert!(!tmp.path().join("node.key").exists());

    let out = node(
        tmp.path(),
        &[
            "init",
            "--hub",
            "no-such-host.invalid:4433",
            "--token",
            TOKEN,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).contains("cannot resolve host name"),
        "{}",
        err(&out)
    );
}

#[test]
fn wrong_dir_and_bad_config_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = node(&tmp.path().join("nowhere"), &["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("no such folder"), "{}", err(&out));

    let out = node(tmp.path(), &["serve"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("not a node folder"), "{}", err(&out));

    std::fs::write(
        tmp.path().join("node.toml"),
        "node_id = \"caf-976\"\nhub = \"localhost:4433\"\n[link]\nkeepalive = \"5s\"\n",
    )
    .unwrap();
    let out = node(tmp.path(), &["status"]);
    assert_eq!(out.status.code(), Some(1));
    let e = err(&out);
    assert!(
        e.contains("node.toml") && e.contains("line 4") && e.contains("key `keepalive`"),
        "{e}"
    );
}

#[test]
fn a_bad_file_is_refused_whole_with_every_bad_line() {
    let tmp = tempfile::tempdir().unwrap();
    let config = "node_id = \"asso\"\nhub = \"localhost:4433\"\n[[datasets]]\nname = \"recues\"\nkind = \"records\"\ncommune = \"commune\"\nperiod = \"periode\"\n";
    std::fs::write(tmp.path().join("node.toml"), config).unwrap();
    let file = tmp.path().join("lot.csv");
    std::fs::write(
        &file,
        "commune,periode\n97611,2025-T1\n97600,2025-T1\n97611,2025-T9\n97611,2025-T2\n",
    )
    .unwrap();
    let out = import(tmp.path(), "recues", &file);
    assert_eq!(out.status.code(), Some(1));
    let e = err(&out);
    assert!(e.contains("2 bad row(s), nothing imported"), "{e}");
    assert!(
        e.contains("line 3, column commune") && e.contains("line 4, column periode"),
        "{e}"
    );
    let out = node(tmp.path(), &["batches", "--format", "json"]);
    assert!(out.status.success(), "{}", err(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");

    let out = import(tmp.path(), "autre", &file);
    assert!(
        err(&out).contains("unknown dataset \"autre\"; node.toml declares: recues"),
        "{}",
        err(&out)
    );

    // A good file is imported; its batch lists with typed JSON values.
    let good = tmp.path().join("bon.csv");
    std::fs::write(&good, "commune,periode\n97611,2025-T1\n97610,2025-T2\n").unwrap();
    let out = import(tmp.path(), "recues", &good);
    assert!(out.status.success(), "{}", err(&out));
    let out = node(tmp.path(), &["batches", "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = &rows[0];
    assert!(b["batch"].is_u64(), "{b}");
    assert_eq!(b["rows"].as_u64(), Some(2), "{b}");
    assert_eq!(
        b["periods"],
        serde_json::json!(["2025-T1", "2025-T2"]),
        "{b}"
    );
    assert_eq!(
        (&b["status"], &b["validated_by"]),
        (&"active".into(), &serde_json::Value::Null),
        "{b}"
    );
    let imported = b["imported"].as_str().unwrap();
    assert!(imported.len() == 20 && imported.ends_with('Z'), "{b}");
    // The table stays for people.
    let out = node(tmp.path(), &["batches"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("2025-T1 2025-T2") && table.contains(" UTC  operator:agent  in force  -"),
        "{table}"
    );
}

#[test]
fn check_config_validates_files_without_starting() {
    use passerelle_certs::{ca::node_request, files, Ca};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("node.toml"),
        "node_id = \"asso\"\nhub = \"localhost:4433\"\n",
    )
    .unwrap();
    let out = node(dir, &["check-config"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("node.key"), "{}", err(&out));

    // Files as enrollment leaves them.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ca = Ca::generate("Test", now, 86400 * 30).unwrap();
    let req = node_request("asso").unwrap();
    let id = passerelle_protocol::ids::NodeId::new("asso").unwrap();
    let cert = ca
        .issue_node(&req.csr_der, &id, "Association", now, 86400 * 10)
        .unwrap();
    files::write_pem(&dir.join("node.key"), files::PRIVATE_KEY, &[&req.key_pkcs8]).unwrap();
    files::write_pem(&dir.join("node.crt"), files::CERTIFICATE, &[&cert]).unwrap();
    files::write_pem(&dir.join("ca.crt"), files::CERTIFICATE, &[ca.cert_der()]).unwrap();
    let out = node(dir, &["check-config"]);
    assert!(out.status.success(), "{}", err(&out));
    // Issued for ten days just now: ten left, or nine once a second passed.
    let e = err(&out);
    assert!(
        e.contains("ok — node asso")
            && (e.contains("valid 10 more day(s)") || e.contains("valid 9 more day(s)")),
        "{e}"
    );

    // A node.toml naming another node than the certificate.
    std::fs::write(
        dir.join("node.toml"),
        "node_id = \"autre\"\nhub = \"localhost:4433\"\n",
    )
    .unwrap();
    let out = node(dir, &["check-config"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).contains("certificate names asso"),
        "{}",
        err(&out)
    );
}

#[test]
fn an_error_prints_once_in_plain_words_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("node.toml"),
        "node_id = \"asso\"\nhub = \"localhost:4433\"\n",
    )
    .unwrap();
    let missing = tmp.path().join("missing.csv");
    // A missing file to import: reported by the command itself.
    let out = import(tmp.path(), "recues", &missing);
    // A store that cannot be opened: an I/O error wrapped by the store's
    // error, whose text shows its cause (the chain must not repeat it).
    std::fs::write(tmp.path().join("store"), b"not a folder").unwrap();
    let store = node(tmp.path(), &["batches"]);
    for (out, cause) in [(&out, "No such file or directory"), (&store, "store")] {
        assert_eq!(out.status.code(), Some(1));
        let e = err(out);
        let lines: Vec<&str> = e.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {e}");
        assert!(lines[0].starts_with("error: "), "{e}");
        assert!(
            !e.contains("Error {") && !e.contains("Os {") && !e.contains("kind:"),
            "no debug text: {e}"
        );
        let os_error = e.matches("(os error").count();
        assert!(os_error <= 1, "the cause once: {e}");
        assert!(e.contains(cause), "{e}");
    }
    let e = err(&out);
    assert_eq!(e.matches("No such file or directory").count(), 1, "{e}");
    assert!(e.contains("check the file's path"), "the fix: {e}");
}

#[test]
fn batch_ids_follow_on_across_restarts_and_batches_say_which_is_in_force() {
    let tmp = tempfile::tempdir().unwrap();
    let config = "node_id = \"asso\"\nhub = \"localhost:4433\"\n[[datasets]]\nname = \"recues\"\nkind = \"records\"\ncommune = \"commune\"\nperiod = \"periode\"\n";
    std::fs::write(tmp.path().join("node.toml"), config).unwrap();
    let file = |name: &str, periods: &[&str]| {
        let path = tmp.path().join(name);
        let rows: String = periods.iter().map(|p| format!("97611,{p}\n")).collect();
        std::fs::write(&path, format!("commune,periode\n{rows}")).unwrap();
        path
    };
    // Each command opens the store anew, as a restart does.
    for (name, periods) in [
        ("a.csv", &["2025-T1", "2025-T2"][..]),
        ("b.csv", &["2025-T2"][..]),
        ("c.csv", &["2025-T1"][..]),
    ] {
        let out = import(tmp.path(), "recues", &file(name, periods));
        assert!(out.status.success(), "{}", err(&out));
    }
    let out = node(tmp.path(), &["batches", "--format", "json"]);
    assert!(out.status.success(), "{}", err(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_file = |f: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|b| b["file"] == f)
            .unwrap_or_else(|| panic!("no batch of {f}: {rows}"))
            .clone()
    };
    let (a, b, c) = (by_file("a.csv"), by_file("b.csv"), by_file("c.csv"));
    assert_eq!(
        (
            a["batch"].as_u64(),
            b["batch"].as_u64(),
            c["batch"].as_u64()
        ),
        (Some(1), Some(2), Some(3)),
        "{rows}"
    );
    // a.csv was replaced for both its periods; b.csv and c.csv are in force.
    assert_eq!(a["in_force"], serde_json::json!(false), "{a}");
    assert_eq!(a["periods_in_force"], serde_json::json!([]), "{a}");
    assert_eq!(b["in_force"], serde_json::json!(true), "{b}");
    assert_eq!(b["periods_in_force"], serde_json::json!(["2025-T2"]), "{b}");
    assert_eq!(c["in_force"], serde_json::json!(true), "{c}");
    let out = node(tmp.path(), &["batches"]);
    let table = String::from_utf8_lossy(&out.stdout);
    let line = |f: &str| table.lines().find(|l| l.contains(f)).unwrap().to_string();
    assert!(line("a.csv").contains("replaced"), "{table}");
    assert!(line("b.csv").contains("in force"), "{table}");
}

#[test]
fn rollback_reject_and_agents_from_the_command_line_name_the_operator() {
    let tmp = tempfile::tempdir().unwrap();
    let config = "node_id = \"asso\"\nhub = \"localhost:4433\"\n[[datasets]]\nname = \"recues\"\nkind = \"records\"\ncommune = \"commune\"\nperiod = \"periode\"\n";
    std::fs::write(tmp.path().join("node.toml"), config).unwrap();
    for (name, period) in [("a.csv", "2025-T1"), ("b.csv", "2025-T1")] {
        let path = tmp.path().join(name);
        std::fs::write(&path, format!("commune,periode\n97611,{period}\n")).unwrap();
        assert!(import(tmp.path(), "recues", &path).status.success());
    }
    // Back to a.csv: b.csv is withdrawn, a.csv in force again.
    let out = node(
        tmp.path(),
        &["rollback", "--dataset", "recues", "--by", "awa"],
    );
    assert!(out.status.success(), "{}", err(&out));
    assert!(
        err(&out).contains("batch 2 of recues withdrawn; now in force: 2025-T1: batch 1"),
        "{}",
        err(&out)
    );
    let out = node(tmp.path(), &["batches", "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["status"], "withdrawn", "{rows}");
    assert_eq!(rows[1]["in_force"], true, "{rows}");
    assert_eq!(rows[1]["by"], "operator:agent", "{rows}");
    let out = node(tmp.path(), &["rollback", "--dataset", "autre"]);
    assert!(
        err(&out).contains("unknown dataset \"autre\""),
        "{}",
        err(&out)
    );
    // Nothing pending to reject.
    let out = node(tmp.path(), &["reject", "--batch", "1", "--by", "awa"]);
    assert!(
        err(&out).contains("batch 1 is not waiting for validation"),
        "{}",
        err(&out)
    );

    // An agent's account: its first password on stdout, once.
    let out = node(
        tmp.path(),
        &[
            "agent",
            "add",
            "--login",
            "ana",
            "--name",
            "Ana B",
            "--role",
            "data",
            "--role",
            "validator",
            "--by",
            "awa",
        ],
    );
    assert!(out.status.success(), "{}", err(&out));
    let first = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(first.len(), 20, "{first}");
    let out = node(
        tmp.path(),
        &[
            "agent", "add", "--login", "ana", "--name", "Ana", "--role", "data",
        ],
    );
    assert!(
        err(&out).contains("agent ana exists already"),
        "{}",
        err(&out)
    );
    let out = node(
        tmp.path(),
        &[
            "agent", "add", "--login", "bob", "--name", "Bob", "--role", "chef",
        ],
    );
    assert!(err(&out).contains("unknown role \"chef\""), "{}", err(&out));
    let out = node(tmp.path(), &["agent", "list", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["login"], "ana", "{list}");
    assert_eq!(
        list[0]["roles"],
        serde_json::json!(["data", "validator"]),
        "{list}"
    );
    assert_eq!(list[0]["first_password"], true, "{list}");
    let out = node(
        tmp.path(),
        &["agent", "reset", "--login", "ana", "--by", "awa"],
    );
    assert_ne!(String::from_utf8_lossy(&out.stdout).trim(), first);
    let out = node(
        tmp.path(),
        &["agent", "remove", "--login", "ana", "--by", "awa"],
    );
    assert!(out.status.success(), "{}", err(&out));
    // Every step is in the audit chain with the operator, and it holds.
    let out = node(tmp.path(), &["audit", "show", "--format", "json"]);
    let records: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let actions: Vec<(String, String)> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap().to_string(),
                r["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("operator:agent", "batch_import"),
        ("operator:agent", "batch_import"),
        ("operator:awa", "batch_rollback"),
        ("operator:awa", "agent_add"),
        ("operator:awa", "agent_reset"),
        ("operator:awa", "agent_remove"),
    ];
    assert_eq!(actions.len(), want.len(), "{records}");
    for (got, (actor, action)) in actions.iter().zip(want) {
        assert_eq!(
            (got.0.as_str(), got.1.as_str()),
            (actor, action),
            "{records}"
        );
    }
    assert!(node(tmp.path(), &["audit", "verify"]).status.success());
}
