//! OpenID Connect providers of `hub.toml`: `[[partner_oidc]]` (partner
//! professionals, e.g. ProConnect) and `[[vault_oidc]]` (beneficiaries,
//! e.g. FranceConnect). Each names the issuer the portal discovers, its
//! client registration and the claims it reads.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::Problems;

/// One OpenID Connect provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProvider {
    /// Short name, in the portal's addresses (`a-z`, `0-9`, `-`).
    pub name: String,
    /// What the sign-in button says (e.g. "ProConnect").
    pub label: String,
    /// The issuer URL; its `/.well-known/openid-configuration` is read.
    pub issuer: String,
    /// The client id the provider registered for this portal.
    pub client_id: String,
    /// A file holding the client secret (readable by the hub only).
    pub client_secret_file: PathBuf,
    /// Scopes asked (must include `openid`).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The claim holding the person's e-mail address.
    #[serde(default = "default_email_claim")]
    pub email_claim: String,
    /// The claim holding the organisation's identifier (ProConnect:
    /// `siret`).
    #[serde(default = "default_organisation_claim")]
    pub organisation_claim: String,
    /// `acr_values` asked, when the provider wants one (FranceConnect:
    /// `eidas1`).
    #[serde(default)]
    pub acr_values: Option<String>,
    /// Accept an `http://` issuer on a loopback address (tests only; any
    /// other `http://` issuer is refused whatever this says).
    #[serde(default)]
    pub allow_insecure_loopback_issuer: bool,
}

fn default_scopes() -> Vec<String> {
    ["openid", "email"].map(String::from).to_vec()
}

fn default_email_claim() -> String {
    "email".into()
}

fn default_organisation_claim() -> String {
    "siret".into()
}

/// Whether `issuer` is an `http://` address on a loopback host.
pub fn is_loopback_http(issuer: &str) -> bool {
    let Some(rest) = issuer.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The rules of one list of providers (`key`: `partner_oidc` or
/// `vault_oidc`), all reported.
pub(crate) fn problems(key: &str, list: &[OidcProvider], out: &mut Problems) {
    let mut seen = std::collections::HashSet::new();
    for p in list {
        let ok_name = !p.name.is_empty()
            && p.name.len() <= 32
            && p.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_name {
            out.bad(
                key,
                format!("name {:?} is not 1 to 32 of a-z, 0-9 and -", p.name),
                "use e.g. \"proconnect\"",
            );
        }
        if !seen.insert(p.name.clone()) {
            out.bad(
                key,
                format!("name {:?} is used twice", p.name),
                "give each provider its own name",
            );
        }
        let https = p.issuer.starts_with("https://") && p.issuer.len() > "https://".len();
        let loopback = p.allow_insecure_loopback_issuer && is_loopback_http(&p.issuer);
        if !https && !loopback {
            out.bad(
                key,
                format!("issuer {:?} of {:?} is not an https:// address", p.issuer, p.name),
                "write the provider's issuer URL (http:// is accepted on loopback only, with allow_insecure_loopback_issuer, for tests)",
            );
        }
        if p.client_id.trim().is_empty() || p.label.trim().is_empty() {
            out.bad(
                key,
                format!("{:?}: client_id or label is empty", p.name),
                "copy the client id the provider gave",
            );
        }
        if !p.scopes.iter().any(|s| s == "openid") {
            out.bad(
                key,
                format!("{:?}: scopes lack \"openid\"", p.name),
                "add \"openid\" to scopes",
            );
        }
        if p.email_claim.trim().is_empty() || p.organisation_claim.trim().is_empty() {
            out.bad(
                key,
                format!("{:?}: a claim name is empty", p.name),
                "use e.g. \"email\" and \"siret\"",
            );
        }
    }
}

/// The `[[KEY]]` tables of a list, as `hub init` writes them; a commented
/// example when the list is empty.
pub(crate) fn template(key: &str, list: &[OidcProvider], example: &str) -> String {
    if list.is_empty() {
        return example.to_string();
    }
    let mut out = String::new();
    for p in list {
        out.push_str(&format!(
            "[[{key}]]\nname = {:?}\nlabel = {:?}\nissuer = {:?}\nclient_id = {:?}\nclient_secret_file = {:?}\nscopes = [{}]\nemail_claim = {:?}\norganisation_claim = {:?}\n",
            p.name,
            p.label,
            p.issuer,
            p.client_id,
            p.client_secret_file.display().to_string(),
            p.scopes.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", "),
            p.email_claim,
            p.organisation_claim,
        ));
        if let Some(a) = &p.acr_values {
            out.push_str(&format!("acr_values = {a:?}\n"));
        }
        if p.allow_insecure_loopback_issuer {
            out.push_str("allow_insecure_loopback_issuer = true\n");
        }
        out.push('\n');
    }
    out
}

/// The commented `[[partner_oidc]]` example of the template.
pub(crate) const PARTNER_EXAMPLE: &str = r#"# [[partner_oidc]]
# name = "proconnect"
# label = "ProConnect"
# issuer = "https://auth.agentconnect.gouv.fr/api/v2"
# client_id = "..."
# client_secret_file = "/etc/passerelle/proconnect.secret"
# scopes = ["openid", "email", "given_name", "usual_name", "siret"]
# email_claim = "email"
# organisation_claim = "siret"
"#;

/// The commented `[[vault_oidc]]` example of the template.
pub(crate) const VAULT_EXAMPLE: &str = r#"# [[vault_oidc]]
# name = "franceconnect"
# label = "FranceConnect"
# issuer = "https://oidc.franceconnect.gouv.fr/api/v2"
# client_id = "..."
# client_secret_file = "/etc/passerelle/franceconnect.secret"
# scopes = ["openid", "given_name", "family_name"]
# acr_values = "eidas1"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_passes() {
        assert!(is_loopback_http("http://127.0.0.1:4000"));
        assert!(is_loopback_http("http://[::1]:4000/x"));
        assert!(is_loopback_http("http://localhost/x"));
        assert!(!is_loopback_http("http://10.0.0.1:4000"));
        assert!(!is_loopback_http("http://127.0.0.1.example.org"));
        assert!(!is_loopback_http("https://127.0.0.1"));
    }

    #[test]
    fn an_http_issuer_needs_loopback_and_the_flag() {
        let p = |issuer: &str, allow: bool| OidcProvider {
            name: "pc".into(),
            label: "ProConnect".into(),
            issuer: issuer.into(),
            client_id: "c".into(),
            client_secret_file: "s".into(),
            scopes: default_scopes(),
            email_claim: default_email_claim(),
            organisation_claim: default_organisation_claim(),
            acr_values: None,
            allow_insecure_loopback_issuer: allow,
        };
        let count = |list: &[OidcProvider]| {
            let mut out = Problems::default();
            problems("partner_oidc", list, &mut out);
            out.into_vec().len()
        };
        assert_eq!(count(&[p("https://auth.example.fr/api/v2", false)]), 0);
        assert_eq!(count(&[p("http://127.0.0.1:4000", true)]), 0);
        assert_eq!(count(&[p("http://127.0.0.1:4000", false)]), 1);
        assert_eq!(count(&[p("http://auth.example.fr", true)]), 1);
        assert_eq!(
            count(&[p("https://a.fr", false), p("https://b.fr", false)]),
            1,
            "same name twice"
        );
        let mut bad = p("https://a.fr", false);
        bad.scopes = vec!["email".into()];
        bad.name = "Pro Connect".into();
        assert_eq!(count(&[bad]), 2);
    }
}
