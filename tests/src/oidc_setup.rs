//! The OpenID Connect tests' network: a hub whose `hub.toml` names the
//! test provider (`tests/oidc/provider.mjs`) for partners under four names
//! (the honest client and three whose ID tokens the provider tampers
//! with) and for the vault, with its accounts.

use passerelle_config::{HubConfig, OidcProvider};
use passerelle_hub::server::{self, HubHandle, Listen};
use serde_json::json;

use crate::{
    oidc::{capture_logs, location, Browser, Logs, TestProvider},
    process::free_hub_addrs,
    Net,
};

pub const SIRET: &str = "53475389700013";

/// A network whose hub knows the test provider under four names: the
/// honest client, and the three whose ID tokens are tampered with.
pub struct Setup {
    /// The folders.
    pub net: Net,
    /// The running hub.
    pub hub: HubHandle,
    /// The portal's address, `http://127.0.0.1:PORT`.
    pub portal: String,
    /// The provider (stopped when dropped).
    pub _provider: TestProvider,
    /// The provider's issuer.
    pub issuer: String,
    /// The process's logs.
    pub logs: Logs,
}

/// A provider entry of `hub.toml` for the test provider.
pub fn provider(name: &str, client: &str, issuer: &str, secret: &std::path::Path) -> OidcProvider {
    OidcProvider {
        name: name.into(),
        label: format!("Fournisseur {name}"),
        issuer: issuer.into(),
        client_id: client.into(),
        client_secret_file: secret.to_path_buf(),
        scopes: ["openid", "email", "siret", "profile"]
            .map(String::from)
            .to_vec(),
        email_claim: "email".into(),
        organisation_claim: "siret".into(),
        acr_values: None,
        allow_insecure_loopback_issuer: true,
    }
}

/// Starts the provider and the hub.
///
/// # Panics
/// When either does not start.
pub async fn setup() -> Setup {
    let logs = capture_logs();
    let net = Net::new();
    let (quic, http) = free_hub_addrs();
    let portal = format!("http://{http}");
    let secret = "un-secret-de-test-assez-long-pour-le-fournisseur";
    let secret_file = net.tmp.path().join("oidc.secret");
    std::fs::write(&secret_file, secret).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let clients: Vec<_> = [
        ("passerelle", None),
        ("passerelle-aud", Some("aud")),
        ("passerelle-iss", Some("iss")),
        ("passerelle-exp", Some("exp")),
    ]
    .into_iter()
    .map(|(id, tamper)| {
        json!({
            "client_id": id,
            "client_secret": secret,
            "redirect_uris": [format!("{portal}/partenaires/oidc/retour")],
            "post_logout_redirect_uris": [format!("{portal}/")],
            "tamper": tamper,
        })
    })
    .chain(std::iter::once(json!({
        "client_id": "passerelle-coffre",
        "client_secret": secret,
        "redirect_uris": [format!("{portal}/coffre/oidc/retour")],
    })))
    .collect();
    let provider_process = TestProvider::start(
        &json!({
            "clients": clients,
            "accounts": {
                "alice": { "email": "Alice.Martin@caf976.fr", "siret": SIRET,
                           "given_name": "Alice", "usual_name": "Martin" },
                "awa": { "given_name": "Awa", "family_name": "Saïd" },
                "bob": { "given_name": "Bob", "family_name": "Ali" },
            },
        }),
        net.tmp.path(),
    );
    let issuer = provider_process.issuer.clone();
    let path = net.hub_dir().join("hub.toml");
    let mut c = HubConfig::load(&path).unwrap();
    c.portal_url = Some(portal.clone());
    c.partner_oidc = vec![
        provider("proconnect", "passerelle", &issuer, &secret_file),
        provider("aud", "passerelle-aud", &issuer, &secret_file),
        provider("iss", "passerelle-iss", &issuer, &secret_file),
        provider("exp", "passerelle-exp", &issuer, &secret_file),
    ];
    c.vault_oidc = vec![OidcProvider {
        scopes: ["openid", "profile"].map(String::from).to_vec(),
        ..provider("franceconnect", "passerelle-coffre", &issuer, &secret_file)
    }];
    std::fs::write(&path, c.template()).unwrap();
    // The template writes the providers back as they are.
    assert_eq!(HubConfig::load(&path).unwrap(), c);
    let hub = server::start(
        &net.hub_dir(),
        Listen {
            quic: Some(quic),
            http: Some(http),
        },
        false,
    )
    .await
    .expect("hub starts");
    Setup {
        net,
        hub,
        portal,
        _provider: provider_process,
        issuer,
        logs,
    }
}

/// The provider's authorization URL a reply sends to, with the account
/// the provider logs in.
pub fn with_hint(s: &Setup, status: u16, h: &[(String, String)], who: &str) -> String {
    assert_eq!(status, 303);
    let to = location(h).unwrap();
    assert!(to.starts_with(&s.issuer), "{to}");
    for p in [
        "code_challenge=",
        "code_challenge_method=S256",
        "state=",
        "nonce=",
    ] {
        assert!(to.contains(p), "{p} missing from {to}");
    }
    format!("{to}&login_hint={who}")
}

/// A browser holding one cookie (`NAME=VALUE`).
pub fn jar_with(cookie: &str) -> Browser {
    let (k, v) = cookie.split_once('=').unwrap();
    let mut b = Browser::default();
    b.jar.insert(k.into(), v.into());
    b
}
