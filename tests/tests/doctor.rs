//! `passerelle-node doctor` against a real hub on loopback: a healthy node,
//! then each failure path (stopped hub, wrong clock, expired certificate,
//! wrong CA, damaged store), each with its verdict and its fix.

use std::time::Duration;

use passerelle_certs::files::{write_pem, CERTIFICATE, PRIVATE_KEY};
use passerelle_node::doctor::{self, Report, Status};
use passerelle_tests::Net;

const PATIENCE: Duration = Duration::from_secs(2);

fn status(r: &Report, name: &str) -> Status {
    r.get(name)
        .unwrap_or_else(|| panic!("no check {name}"))
        .status
}

fn says(r: &Report, name: &str, words: &str) {
    let c = r.get(name).unwrap();
    let text = format!("{} {}", c.detail, c.fix.clone().unwrap_or_default());
    assert!(
        text.contains(words),
        "{name}: expected {words:?} in {text:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_node_then_each_failure_with_its_fix() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net.node(&hub, "caf-976").await;
    let root = net.node_dir("caf-976");
    let now = passerelle_link::now();

    // Healthy, while serving: the probe does not disturb the serving link.
    let id = passerelle_protocol::ids::NodeId::new("caf-976").unwrap();
    let before = hub.live(&id).expect("connected");
    let attempts = node.link().attempts;
    let r = doctor::run(&root, now, PATIENCE).await;
    for name in [
        "config",
        "clock",
        "certificate",
        "dns",
        "udp",
        "quic",
        "store",
    ] {
        assert_eq!(
            status(&r, name),
            Status::Ok,
            "{name}: {}",
            doctor::render(&r)
        );
    }
    assert!(doctor::render(&r).contains("verdict: the node is ready"));
    // The probe's connection was settled when doctor returned: the same
    // link still answers a query, and the node never had to reconnect.
    let asked = passerelle_hub_core::federation::ask(
        &before,
        &hub.ctx().hub.key,
        passerelle_protocol::message::Query::Ping,
        PATIENCE,
    )
    .await
    .expect("serving link kept");
    assert!(matches!(
        asked.body.outcome,
        passerelle_protocol::envelope::Outcome::Answered(
            passerelle_protocol::message::Answer::Pong
        )
    ));
    assert_eq!(node.link().attempts, attempts, "the node reconnected");
    assert!(node.link().connected);

    // A wrong clock: an hour ahead of the hub.
    let r = doctor::run(&root, now + 3600, PATIENCE).await;
    assert_eq!(status(&r, "clock"), Status::Fail);
    says(&r, "clock", "s ahead of the hub");
    let skew: u64 = r
        .get("clock")
        .unwrap()
        .detail
        .split_whitespace()
        .nth(4)
        .unwrap()
        .parse()
        .unwrap();
    assert!((3590..=3610).contains(&skew), "{skew}");
    says(&r, "clock", "timedatectl set-ntp true");
    assert!(r.failed());

    // A damaged store: a document's sealed file is gone.
    let doc = root.join("doc.pdf");
    std::fs::write(&doc, b"%PDF-1.4 test\n%%EOF\n").unwrap();
    let added = passerelle_node::admin::request(
        &root,
        passerelle_node::admin::Request::DocumentAdd {
            local_id: "P1".into(),
            category: "identity".into(),
            path: doc,
            by: "t".into(),
        },
        &mut |_| {},
    )
    .await
    .unwrap();
    let passerelle_node::admin::Response::Document(d) = added else {
        panic!()
    };
    std::fs::remove_file(passerelle_node::vault::DocFiles::new(&root).sealed(&d.id)).unwrap();
    let r = doctor::run(&root, now, PATIENCE).await;
    assert_eq!(status(&r, "store"), Status::Fail);
    says(&r, "store", "is missing");
    says(&r, "store", "passerelle-node restore");
    node.stop().await;

    // A wrong CA: ca.crt holds another network's CA.
    let ca_path = root.join("ca.crt");
    let good_ca = std::fs::read(&ca_path).unwrap();
    let other = passerelle_certs::Ca::generate("Another hub", now, 86400).unwrap();
    write_pem(&ca_path, CERTIFICATE, &[other.cert_der()]).unwrap();
    let r = doctor::run(&root, now, PATIENCE).await;
    assert_eq!(status(&r, "udp"), Status::Ok, "{}", doctor::render(&r));
    assert_eq!(status(&r, "quic"), Status::Fail);
    says(&r, "quic", "not signed by the CA this node trusts");
    std::fs::write(&ca_path, &good_ca).unwrap();

    // An expired certificate, issued by the right CA an hour ago.
    let (key_path, cert_path) = (root.join("node.key"), root.join("node.crt"));
    let (good_key, good_cert) = (
        std::fs::read(&key_path).unwrap(),
        std::fs::read(&cert_path).unwrap(),
    );
    let req = passerelle_certs::ca::node_request("caf-976").unwrap();
    let id = passerelle_protocol::ids::NodeId::new("caf-976").unwrap();
    let der = hub
        .ctx()
        .ca
        .issue_node(&req.csr_der, &id, "Institution caf-976", now - 7200, 3600)
        .unwrap();
    write_pem(&key_path, PRIVATE_KEY, &[&req.key_pkcs8]).unwrap();
    write_pem(&cert_path, CERTIFICATE, &[&der]).unwrap();
    let r = doctor::run(&root, now, PATIENCE).await;
    assert_eq!(
        status(&r, "certificate"),
        Status::Fail,
        "{}",
        doctor::render(&r)
    );
    says(&r, "certificate", "expired on");
    assert_eq!(status(&r, "quic"), Status::Fail);
    says(&r, "quic", "refused this node's certificate");
    std::fs::write(&key_path, &good_key).unwrap();
    std::fs::write(&cert_path, &good_cert).unwrap();

    // A stopped hub: nothing answers over UDP.
    hub.stop().await;
    let r = doctor::run(&root, now, PATIENCE).await;
    assert_eq!(status(&r, "dns"), Status::Ok);
    assert_eq!(status(&r, "udp"), Status::Fail, "{}", doctor::render(&r));
    says(&r, "udp", "no answer");
    says(&r, "udp", "outbound UDP to port");
    assert_eq!(status(&r, "quic"), Status::Skipped);
    assert_eq!(status(&r, "clock"), Status::Skipped);
    assert!(doctor::render(&r).contains("problem(s) to fix"));
}

#[tokio::test]
async fn a_folder_without_a_node_fails_at_config_and_skips_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let r = doctor::run(dir.path(), passerelle_link::now(), PATIENCE).await;
    assert_eq!(status(&r, "config"), Status::Fail);
    says(&r, "config", "node.toml is missing");
    assert!(r.checks.iter().skip(1).all(|c| c.status == Status::Skipped));
}

/// The clock check fails beyond the configured window (5 minutes by
/// default), not before: 2 minutes of skew pass, 6 minutes fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_check_uses_the_configured_window() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "caf-976").await;
    let window = passerelle_config::NodeConfig::load(&root.join("node.toml"))
        .unwrap()
        .link
        .clock_window;
    assert_eq!(window, Duration::from_secs(300), "the default window");
    let now = passerelle_link::now();
    for (skew, expected) in [
        (120, Status::Ok),
        (-120, Status::Ok),
        (360, Status::Fail),
        (-360, Status::Fail),
    ] {
        let r = doctor::run(&root, now.saturating_add_signed(skew), PATIENCE).await;
        assert_eq!(
            status(&r, "clock"),
            expected,
            "{skew} s: {}",
            doctor::render(&r)
        );
        assert_eq!(status(&r, "quic"), Status::Ok, "{}", doctor::render(&r));
        says(&r, "clock", "300 s");
    }
    hub.stop().await;
}

/// A node whose clock is behind the start of the hub's brand-new
/// certificate: rustls refuses it with the same alert as an expired one;
/// the doctor, the link's state and its log blame this machine's clock and
/// do not advise enrolling again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_clock_behind_the_hub_certificate_is_a_clock_problem() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let quic = hub.quic_addr;
    let root = net.enroll(&hub, "caf-976").await;
    // The hub gets a certificate that starts in an hour (same key), as if
    // this machine's clock were an hour behind the hub's.
    let dir = passerelle_hub_core::paths::HubDir::existing(&net.hub_dir()).unwrap();
    let key = passerelle_certs::files::read_private_key(&dir.hub_key()).unwrap();
    let now = passerelle_link::now();
    let names = hub.ctx().hub.config.public_names.clone();
    let fresh = hub
        .ctx()
        .ca
        .issue_hub_for(&names, Some(&key), now + 3600, 86400)
        .unwrap();
    hub.stop().await;
    write_pem(&dir.hub_cert(), CERTIFICATE, &[&fresh.cert_der]).unwrap();
    let hub = net.start_hub(Some(quic)).await;

    let r = doctor::run(&root, now, PATIENCE).await;
    let text = doctor::render(&r);
    assert_eq!(status(&r, "udp"), Status::Ok, "{text}");
    assert_eq!(status(&r, "quic"), Status::Fail, "{text}");
    says(&r, "quic", "this machine's clock is behind");
    says(&r, "quic", "timedatectl set-ntp true");
    assert_eq!(status(&r, "clock"), Status::Fail, "{text}");
    says(&r, "clock", "this machine's clock is behind");
    assert!(
        !text.contains("enroll again with"),
        "no re-enrollment advice: {text}"
    );
    assert!(!text.contains("not signed by the CA"), "{text}");
    assert_eq!(status(&r, "certificate"), Status::Ok, "{text}");

    // The serving link says the same in its state (and its log).
    let node = passerelle_node::serve::start(&root).await.unwrap();
    passerelle_tests::eventually("the link's error", Duration::from_secs(10), || {
        let link = node.link();
        async move {
            link.last_error.is_some_and(|e| {
                e.contains("this machine's clock is behind") && !e.contains("enroll again with")
            })
        }
    })
    .await;
    node.stop().await;
    hub.stop().await;
}

/// The doctor's probe has its own rate limit: many doctor runs leave the
/// enrollment attempts of the address untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_does_not_use_the_enrollment_limit() {
    let net = Net::new();
    let path = net.hub_dir().join("hub.toml");
    let mut config = passerelle_config::HubConfig::load(&path).unwrap();
    config.enroll_per_minute = std::num::NonZeroU32::new(2).unwrap();
    config.probe_per_minute = std::num::NonZeroU32::new(4).unwrap();
    std::fs::write(&path, config.template()).unwrap();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "caf-976").await;
    // The enrollment used one attempt of two; three probes use none.
    for _ in 0..3 {
        let r = doctor::run(&root, passerelle_link::now(), PATIENCE).await;
        assert_eq!(status(&r, "quic"), Status::Ok, "{}", doctor::render(&r));
    }
    let token = net.token(&hub, "asso-976");
    net.init_node(&hub, &net.node_dir("asso-976"), &token)
        .await
        .expect("the second enrollment attempt is still allowed");
    // Probes are limited on their own.
    // The limiter allows four at once, then one every 15 s: of nine
    // probes in well under a minute, one is refused.
    let mut refused = None;
    for _ in 0..6 {
        let r = doctor::run(&root, passerelle_link::now(), PATIENCE).await;
        if status(&r, "quic") == Status::Fail {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("a fifth probe in a minute is refused");
    says(&r, "quic", "too many diagnostic probes");
    says(&r, "quic", "wait a minute");
    hub.stop().await;
}
