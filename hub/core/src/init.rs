//! `passerelle-hub init`: a new CA, the hub's certificate and key, and a
//! `hub.toml` with every key commented.

use crate::refusal::Refusal;
use passerelle_certs::{files, Ca};
use passerelle_config::HubConfig;
use passerelle_link::now;

use crate::{paths::HubDir, HubError};

/// Validity of the CA.
pub const CA_VALIDITY_SECS: u64 = 10 * 365 * 86400;
/// Validity of the hub certificate.
pub const HUB_CERT_VALIDITY_SECS: u64 = 2 * 365 * 86400;

/// Initialises a hub folder. `public_names` replaces the default names
/// in the certificate and config when not empty.
///
/// # Errors
/// When the folder already holds a hub or files cannot be written.
pub fn init(
    dir: &HubDir,
    name: Option<String>,
    public_names: Vec<String>,
) -> Result<HubConfig, HubError> {
    if dir.ca_key().exists() || dir.config().exists() {
        return Err(HubError::Dir {
            path: dir.root().to_path_buf(),
            why: "this folder already holds a hub (ca.key or hub.toml exists); use another --dir"
                .into(),
        });
    }
    let mut config = HubConfig::default();
    if let Some(name) = name {
        config.name = name;
    }
    if !public_names.is_empty() {
        config.public_names = public_names;
    }
    let problems = config.problems();
    if !problems.is_empty() {
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(Refusal::BadFile {
            what: "hub.toml".into(),
            why: text.join("; "),
        }
        .into());
    }
    let t = now();
    let ca = Ca::generate(&config.name, t, CA_VALIDITY_SECS)?;
    let hub = ca.issue_hub(&config.public_names, t, HUB_CERT_VALIDITY_SECS)?;
    files::write_pem(&dir.ca_key(), files::PRIVATE_KEY, &[&ca.key_pkcs8()])?;
    files::write_pem(&dir.ca_cert(), files::CERTIFICATE, &[ca.cert_der()])?;
    files::write_pem(&dir.hub_key(), files::PRIVATE_KEY, &[&hub.key_pkcs8])?;
    files::write_pem(&dir.hub_cert(), files::CERTIFICATE, &[&hub.cert_der])?;
    files::write_atomic(&dir.config(), config.template().as_bytes(), 0o644)?;
    Ok(config)
}
