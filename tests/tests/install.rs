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
    // This test's binary is in target/<profile>/deps; the tools are in
    // target/<profile>, built by `cargo test --workspace`.
    let exe = std::env::current_exe().unwrap();
    let bin_dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    for b in ["passerelle-node", "passerelle-hub"] {
        assert!(
            bin_dir.join(b).exists(),
            "{b} is not built in {}: run cargo build --workspace (cargo test --workspace builds it)",
            bin_dir.display()
        );
    }
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
