//! "Vérifier ce chiffre" end to end: a bundle downloaded from the portal
//! over real HTTP verifies with the standalone verifier (library and
//! program); any changed value, signature or certificate fails with its
//! precise reason; a figure combining two providers discloses neither
//! provider's answer, and the operator's auditor export recomputes it.

use passerelle_protocol::{hex, sign::sha256};
use passerelle_provenance::{
    bundle::{Bundle, Kind, Statement},
    compose::Status,
    hexbytes::Hex,
};
use passerelle_tests::{http_get, rows, rows_csv, Net};
use passerelle_verify::{check, Failure};

#[path = "provenance/population.rs"]
mod population;

const ID: &str = "personnes-recues";

/// Rows with at least 20 people in every commune and period: nothing is
/// withheld, so a single provider's answer is exactly what the portal
/// publishes.
fn large_rows(periods: &[&str]) -> String {
    let mut rows = Vec::new();
    for (i, p) in periods.iter().enumerate() {
        for (j, c) in passerelle_protocol::geo::COMMUNES.iter().enumerate() {
            for k in 0..20 + (i * 7 + j * 3) % 13 {
                rows.push((
                    c.code.to_string(),
                    p.to_string(),
                    if k % 2 == 0 { "F" } else { "M" },
                ));
            }
        }
    }
    rows_csv(&rows)
}

fn parts(bytes: &[u8]) -> (Bundle, Statement) {
    let b: Bundle = serde_json::from_slice(bytes).expect("a bundle");
    let s: Statement = serde_json::from_str(b.statement.get()).expect("a statement");
    (b, s)
}

/// The bundle with its statement replaced by `s` (written as the hub writes
/// it), and `edit` applied to the rest.
fn rewrite(
    bytes: &[u8],
    edit_statement: impl FnOnce(&mut Statement),
    edit: impl FnOnce(&mut Bundle),
) -> Vec<u8> {
    let (mut b, mut s) = parts(bytes);
    edit_statement(&mut s);
    b.statement =
        serde_json::value::RawValue::from_string(serde_json::to_string(&s).unwrap()).unwrap();
    edit(&mut b);
    serde_json::to_vec(&b).unwrap()
}

fn flip(h: &mut Hex, from_end: usize) {
    let n = h.0.len();
    h.0[n - from_end] ^= 0x01;
}

#[tokio::test]
async fn a_single_provider_figure_verifies_and_any_change_is_caught() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net
        .data_node(
            &hub,
            "asso-a",
            Some(&large_rows(&["2025-T1", "2025-T2"])),
            false,
        )
        .await;
    let result = passerelle_tests::refresh(&hub, ID).await;
    assert!(
        result.cells.iter().all(|c| c.status == Status::Released),
        "nothing withheld"
    );
    let fp = sha256(hub.ctx().ca.cert_der());

    // The sheet offers the check, with the CA fingerprint printed.
    let (status, _, html) = http_get(
        hub.http_addr,
        &format!("/indicateur/{ID}?niveau=commune&periode=2025-T1"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("Vérifier ce chiffre"), "{html}");
    assert!(html.contains(&hex::encode(&fp)), "fingerprint not printed");
    assert!(
        html.contains(&format!(
            "/indicateur/{ID}/preuve?niveau=commune&amp;periode=2025-T1"
        )),
        "{html}"
    );
    let (status, _, howto) = http_get(hub.http_addr, "/verifier-un-chiffre").await;
    assert_eq!(status, 200);
    assert!(howto.contains("passerelle-verify") && howto.contains(&hex::encode(&fp)));

    let (status, headers, body) = passerelle_tests::http_bytes(
        hub.http_addr,
        "GET",
        &format!("/indicateur/{ID}/preuve?niveau=commune&periode=2025-T1"),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(headers
        .iter()
        .any(|(k, v)| k == "content-disposition" && v.contains("preuve.json")));
    let (_, s) = parts(&body);
    assert_eq!(s.kind, Kind::Public);
    assert_eq!(s.cells.len(), 17, "one cell per commune of the period");
    assert_eq!(s.contributions.len(), 1);
    assert!(
        s.contributions[0].signed_answer.is_some(),
        "a single provider's answer is what the portal publishes"
    );
    // The API serves the same kind of bundle.
    let (status, _, api) = http_get(
        hub.http_addr,
        &format!("/api/indicators/{ID}/provenance?level=epci&period=2025-T2"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(check(api.as_bytes(), Some(fp)).ok());

    let report = check(&body, Some(fp));
    assert!(report.ok(), "{:?}", report.failures);
    assert!(report.unchecked.is_empty(), "{:?}", report.unchecked);
    assert!(
        report.checked.iter().any(|l| l.contains("recomputed")),
        "{:?}",
        report.checked
    );

    // Rewriting the statement as the hub wrote it changes nothing.
    assert!(check(&rewrite(&body, |_| {}, |_| {}), Some(fp)).ok());

    // A published value changed.
    let changed = rewrite(
        &body,
        |s| {
            let c = s
                .cells
                .iter_mut()
                .find(|c| c.status == Status::Released)
                .unwrap();
            c.value = c.value.map(|v| v + 1.0);
        },
        |_| {},
    );
    let f = check(&changed, Some(fp)).failures;
    assert!(f.contains(&Failure::HubSignature), "{f:?}");
    assert!(
        f.iter().any(|x| matches!(x, Failure::Value { place, .. } if place.starts_with("Commune") && place.ends_with("2025-T1"))),
        "{f:?}"
    );

    // A value inside the node's signed answer changed: its signature fails.
    let f = check(
        &rewrite(
            &body,
            |s| flip(s.contributions[0].signed_answer.as_mut().unwrap(), 3),
            |_| {},
        ),
        Some(fp),
    )
    .failures;
    assert!(
        f.contains(&Failure::Digest {
            index: 1,
            node: "asso-a".into()
        }),
        "{f:?}"
    );
    assert!(
        f.iter().any(
            |x| matches!(x, Failure::Signature { index: 1, why, .. } if why.contains("signature"))
        ),
        "{f:?}"
    );

    // The node's signature changed.
    let f = check(
        &rewrite(
            &body,
            |s| flip(&mut s.contributions[0].signature, 1),
            |_| {},
        ),
        Some(fp),
    )
    .failures;
    assert!(
        f.iter()
            .any(|x| matches!(x, Failure::Signature { index: 1, .. })),
        "{f:?}"
    );
    assert!(f.contains(&Failure::HubSignature), "{f:?}");

    // The hub's signature changed, and nothing else.
    let f = check(
        &rewrite(&body, |_| {}, |b| flip(&mut b.hub_signature, 1)),
        Some(fp),
    )
    .failures;
    assert_eq!(f, vec![Failure::HubSignature]);

    // The node's certificate changed (a byte of the CA's signature on it).
    let f = check(
        &rewrite(
            &body,
            |s| flip(&mut s.contributions[0].certificate, 2),
            |_| {},
        ),
        Some(fp),
    )
    .failures;
    assert!(
        f.iter()
            .any(|x| matches!(x, Failure::Certificate { index: 1, .. })),
        "{f:?}"
    );

    // The hub's certificate changed.
    let f = check(
        &rewrite(&body, |_| {}, |b| flip(&mut b.hub_certificate, 2)),
        Some(fp),
    )
    .failures;
    assert!(
        f.iter().any(|x| matches!(x, Failure::HubCertificate(_))),
        "{f:?}"
    );

    // The CA certificate changed: it no longer has the portal's fingerprint.
    let f = check(
        &rewrite(&body, |_| {}, |b| flip(&mut b.ca_certificates[0], 2)),
        Some(fp),
    )
    .failures;
    assert!(
        matches!(f.first(), Some(Failure::CaFingerprint { .. })),
        "{f:?}"
    );

    // Another network's CA (a forged bundle) is not the portal's.
    let f = check(&body, Some([7; 32])).failures;
    assert!(
        matches!(f.first(), Some(Failure::CaFingerprint { .. })),
        "{f:?}"
    );

    // The standalone program: VERIFIED and exit 0; the precise reason and
    // exit 1 on a changed bundle.
    let dir = tempfile::tempdir().unwrap();
    let (good, bad) = (
        dir.path().join("preuve.json"),
        dir.path().join("changee.json"),
    );
    std::fs::write(&good, &body).unwrap();
    std::fs::write(&bad, &changed).unwrap();
    let run = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_passerelle-test-verify"))
            .arg(file)
            .arg("--ca-fingerprint")
            .arg(hex::encode(&fp))
            .output()
            .unwrap()
    };
    let out = run(&good);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("VERIFIED"), "{text}");
    let out = run(&bad);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAILED: the hub's signature over the statement does not verify"),
        "{text}"
    );
    assert!(text.contains("recomputed"), "{text}");

    node.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn a_two_provider_figure_discloses_no_provider_answer() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let periods = ["2025-T1", "2025-T2"];
    let a = net
        .data_node(&hub, "asso-a", Some(&rows_csv(&rows(1, &periods))), false)
        .await;
    let b = net
        .data_node(&hub, "asso-b", Some(&rows_csv(&rows(2, &periods))), false)
        .await;
    let result = passerelle_tests::refresh(&hub, ID).await;
    assert_eq!(result.provenance.len(), 2);
    let fp = sha256(hub.ctx().ca.cert_der());

    // The portal's published cells, from its API.
    let (status, _, api) = http_get(hub.http_addr, &format!("/api/indicators/{ID}")).await;
    assert_eq!(status, 200);

    let (status, _, body) = passerelle_tests::http_bytes(
        hub.http_addr,
        "GET",
        &format!("/indicateur/{ID}/preuve"),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 200);
    let (_, s) = parts(&body);
    let text = String::from_utf8_lossy(&body);
    assert_eq!(s.contributions.len(), 2);
    for (c, p) in s.contributions.iter().zip(&result.provenance) {
        // No answer, in any form: only its digest and signature.
        assert!(c.signed_answer.is_none(), "{} disclosed", c.node_id);
        assert!(
            !text.contains(&hex::encode(&p.signed.body)),
            "an answer's bytes are in the bundle"
        );
        assert_eq!(c.answer_sha256.0, sha256(&p.signed.body).to_vec());
    }
    // Every figure in the bundle is one the portal publishes, at the same
    // place with the same value, and the bundle withholds what it withholds.
    let api: serde_json::Value = serde_json::from_str(&api).unwrap();
    let published = api["cells"].as_array().unwrap();
    assert_eq!(s.cells.len(), published.len());
    for c in &s.cells {
        let p = published
            .iter()
            .find(|p| {
                p["level"] == serde_json::json!(c.level)
                    && p["code"] == c.code.as_str()
                    && p["period"] == c.period.to_string().as_str()
            })
            .unwrap_or_else(|| panic!("{c:?} is not published"));
        assert_eq!(p["value"].as_f64(), c.value, "{c:?} / {p}");
    }

    // The public check: the hub's statement and who contributed hold; the
    // values are left to an auditor.
    let report = check(&body, Some(fp));
    assert!(report.ok(), "{:?}", report.failures);
    assert!(
        report
            .checked
            .iter()
            .any(|l| l.contains("asso-a") && l.contains("asso-b")),
        "{:?}",
        report.checked
    );
    assert!(
        report.unchecked.iter().any(|l| l.contains("auditor")),
        "{:?}",
        report.unchecked
    );

    // The operator's export for an auditor has every answer and recomputes.
    let full = match passerelle_hub::admin::request(
        &net.hub_dir(),
        passerelle_hub::admin::Request::Provenance {
            id: ID.into(),
            full: true,
        },
    )
    .await
    .unwrap()
    {
        passerelle_hub::admin::Response::Bundle(t) => t,
        other => panic!("{other:?}"),
    };
    let (_, audit) = parts(full.as_bytes());
    assert_eq!(audit.kind, Kind::Audit);
    assert!(audit
        .contributions
        .iter()
        .all(|c| c.signed_answer.is_some()));
    // Its digests are those of the public bundle.
    for (x, y) in audit.contributions.iter().zip(&s.contributions) {
        assert_eq!(x.answer_sha256, y.answer_sha256);
    }
    assert_eq!(passerelle_verify::compare(full.as_bytes(), &body), Ok(()));
    let other = rewrite(
        &body,
        |s| {
            let b = s
                .contributions
                .iter_mut()
                .find(|c| c.node_id == "asso-b")
                .unwrap();
            b.answer_sha256.0[0] ^= 1;
        },
        |_| {},
    );
    assert!(matches!(
        passerelle_verify::compare(full.as_bytes(), &other),
        Err(Failure::Mismatch(why)) if why.contains("asso-b")
    ));
    let report = check(full.as_bytes(), Some(fp));
    assert!(report.ok(), "{:?}", report.failures);
    assert!(report.unchecked.is_empty(), "{:?}", report.unchecked);
    assert!(
        report.checked.iter().any(|l| l.contains("recomputed")),
        "{:?}",
        report.checked
    );

    a.stop().await;
    b.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn a_single_provider_answer_with_masked_cells_is_not_disclosed() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net
        .data_node(
            &hub,
            "asso-a",
            Some(&rows_csv(&rows(8, &["2025-T1"]))),
            false,
        )
        .await;
    let result = passerelle_tests::refresh(&hub, ID).await;
    assert!(result.cells.iter().any(|c| c.status == Status::Suppressed));
    let (status, _, body) = passerelle_tests::http_bytes(
        hub.http_addr,
        "GET",
        &format!("/indicateur/{ID}/preuve?niveau=commune"),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 200);
    let (_, s) = parts(&body);
    // Its answer says why each masked cell is masked; the portal does not.
    assert!(s.contributions[0].signed_answer.is_none());
    assert!(
        !String::from_utf8_lossy(&body).contains(&hex::encode(&result.provenance[0].signed.body))
    );
    let report = check(&body, Some(sha256(hub.ctx().ca.cert_der())));
    assert!(report.ok(), "{:?}", report.failures);
    assert!(
        report.checked.iter().any(|l| l.contains("asso-a")),
        "{:?}",
        report.checked
    );
    node.stop().await;
    hub.stop().await;
}
