//! The browser tests' side in Rust: runs a script of `tests/browser`
//! (Debian's Chromium driven by playwright-core, axe-core on every page;
//! `.ci/setup` installs them) and reads the JSON report it prints.

use std::{path::PathBuf, process::Command};

use serde_json::Value;

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `tests/browser/SCRIPT BASE_URL ARTIFACT_DIR ARGS…` off the test's
/// runtime (the servers under test run on it), with screenshots in
/// `target/ARTIFACTS`; its report, once the script succeeded (a failed
/// step, a CSP violation or an error logged by a page fails the test).
pub async fn run(script: &str, base: String, artifacts: &str, args: Vec<String>) -> Value {
    let script = repo().join("tests/browser").join(script);
    let artifacts = repo().join("target").join(artifacts);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .arg(base)
            .arg(artifacts)
            .args(args)
            .output()
    })
    .await
    .unwrap()
    .expect("node is installed (run .ci/setup)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| {
        panic!(
            "no report; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(out.status.success(), "browser test failed: {report:#}");
    report
}

/// The pages the report checked, in order.
pub fn pages(report: &Value) -> Vec<&str> {
    report["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

/// Every axe finding, whatever its impact, except those `accepted` (page,
/// axe rule, why).
pub fn violations<'a>(report: &'a Value, accepted: &[(&str, &str, &str)]) -> Vec<&'a Value> {
    report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| {
            !accepted
                .iter()
                .any(|(page, id, _)| v["page"] == *page && v["id"] == *id)
        })
        .collect()
}

/// Asserts that each of `pages` has its screenshot in `target/ARTIFACTS`.
pub fn assert_screenshots(artifacts: &str, pages: &[&str]) {
    for p in pages {
        assert!(
            repo()
                .join("target")
                .join(artifacts)
                .join(format!("{p}.png"))
                .exists(),
            "screenshot of {p}"
        );
    }
}
