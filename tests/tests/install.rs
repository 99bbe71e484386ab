//! The partner install guide, exercised: `deploy/try-install.sh` builds
//! the Debian packages from this build's binaries, checks their contents,
//! installs the node package into a fresh root and runs every command of
//! `deploy/INSTALL.fr.md` against a real hub, in a private network
//! namespace when the kernel allows it. Needs dpkg-deb, tar and python3
//! (Debian base, `.ci/setup`).

use std::{path::PathBuf, process::Command};

#[test]
fn the_install_guide_takes_a_fresh_root_to_a_connected_node() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    // The programs under test are the ones cargo built for this test run
    // (this package builds the node's and the hub's `main.rs` as
    // `passerelle-test-*`), never an older `passerelle-node` left in
    // target/: the script packages them under their real names.
    let bins = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for (name, built) in [
        ("passerelle-node", passerelle_tests::node_exe!()),
        ("passerelle-hub", passerelle_tests::hub_exe!()),
    ] {
        let to = bins.path().join(name);
        if std::fs::hard_link(built, &to).is_err() {
            std::fs::copy(built, &to).unwrap();
        }
    }
    let bin_dir = bins.path().to_path_buf();
    let out = Command::new("bash")
        .arg(repo.join("deploy/try-install.sh"))
        .arg(&bin_dir)
        // Debug binaries are large; gzip keeps the test quick.
        .env("DEB_COMPRESSION", "gzip")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "try-install failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("try-install: ok"), "{stdout}");
}
