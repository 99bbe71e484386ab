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
