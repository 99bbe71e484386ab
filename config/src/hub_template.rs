//! The `hub.toml` that `passerelle-hub init` writes: every key, commented,
//! with its value (kept apart from the keys' definitions in [`crate::hub`]).

use crate::hub::HubConfig;

impl HubConfig {
    /// The file `hub init` writes: every key, commented, with its value.
    pub fn template(&self) -> String {
        let h = crate::human_duration;
        let names: Vec<String> = self.public_names.iter().map(|n| format!("{n:?}")).collect();
        format!(
            r#"# Passerelle hub configuration. Every key is optional; the value shown is
# what this hub uses. Unknown keys are refused.

# Who runs the hub; named in the CA certificate.
name = {name:?}

# Host names and IP addresses nodes use to reach the hub. The hub
# certificate is issued for these names at `passerelle-hub init`.
public_names = [{names}]

# UDP address of the QUIC listener nodes dial (partners open nothing).
quic_listen = "{quic}"

# TCP address of the web portal.
http_listen = "{http}"

# Web clients: time to send a request's headers (also how long an idle
# connection stays open), longest pause while sending a body, and
# connections open at once in all and from one address (the trusted proxy
# is held by the total only).
http_header_timeout = "{http_header}"
http_body_timeout = "{http_body}"
http_max_connections = {http_max}
http_max_connections_per_address = {http_per_address}

# How long an enrollment token stays valid.
token_ttl = "{ttl}"

# Validity of node certificates; nodes renew before expiry.
node_cert_validity = "{validity}"

# How often the hub asks each connected node for its status.
status_interval = "{status}"

# How long the hub waits for one node's answer.
query_timeout = "{timeout}"

# Liveness: the hub checks every node's link at this pace (QUIC
# keep-alives, no signature), and a node silent for dead_after is declared
# dead: disconnected at once, so queries skip it instead of waiting.
liveness_interval = "{liveness}"
dead_after = "{dead}"

# A document streamed from a node that makes no progress this long is
# abandoned; the person sees an error instead of a download that hangs.
stall_timeout = "{stall}"

# Enrollment attempts accepted per minute from one address.
enroll_per_minute = {rate}

# Diagnostic probes (passerelle-node doctor) accepted per minute from one
# address, counted apart from enrollments.
probe_per_minute = {probes}

{quic_limits}
# How often every indicator is recomposed from the nodes (on demand too:
# passerelle-hub indicator ID --refresh).
refresh_interval = "{refresh}"
# The first scheduled refresh runs this long after the hub starts (at most
# one interval later), once the nodes had time to reconnect.
refresh_after_start = "{refresh_after_start}"

# History of each indicator: the latest history_full_refreshes published
# results, and the last one of each of the latest history_full_months
# months, keep every signed answer (checkable with verify-indicator);
# older ones are kept as summaries (figures and the digest of their
# answers), deleted after history_summary_days days (0: never). With
# history_archive, each result's checkable bundle is written there before
# its answers are pruned.
history_full_refreshes = {full_refreshes}
history_full_months = {full_months}
history_summary_days = {summary_days}
{archive}

# A folder of extra indicator files (*.toml), added to the shipped catalog.
{catalog}

# Commune boundaries for the maps: a GeoJSON FeatureCollection whose
# features carry the INSEE code in the property named below. Without it,
# the portal draws its built-in schematic map.
{boundaries}
boundaries_code_property = {prop:?}

# Partner professionals: accounts per institution, how long a sign-in
# lasts, and sign-in attempts accepted per minute from one address and,
# separately, for one account (partners' and vault sign-ins alike).
partner_accounts_per_institution = {accounts}
session_ttl = "{session}"
login_per_minute = {logins}

# A second factor for partner accounts (a 6-digit code from an
# authenticator app, TOTP): "required" for every account (any partner
# professional can be named in a consent and so read vault documents),
# "optional" (each partner may enrol; the code is then always asked) or
# "off".
partner_totp = "{totp}"

# HTTPS for the portal: certificate chain and key (PEM). The hub then sends
# Strict-Transport-Security. Leave both unset behind a reverse proxy that
# terminates TLS; the proxy then sends that header.
{https}

# Behind a reverse proxy: its address. The sign-in limit then counts the
# client address the proxy appends to X-Forwarded-For.
{proxy}

# The portal's public address, printed with the QR code on verifiable
# copies of documents (defaults to the first public name with the port of
# http_listen, over https:// when https_cert is set).
{portal}

# Where people write about the site and their personal data (rights of
# access, correction, erasure): shown on the legal pages
# (/mentions-legales, /donnees-personnelles, /accessibilite).
{contact}

# Prometheus metrics (/metrics) and the network health page (/sante) are
# served to the hub machine itself and to these addresses only, judged by
# the connection's address; from trusted_proxy, by the address it appends
# to X-Forwarded-For (a request it sends without one is refused).
metrics_allow = [{metrics}]
{messages}
{vault}{upstream}{store}
# OpenID Connect sign-in (see the install guide). Partner professionals:
# one [[partner_oidc]] table per provider (ProConnect); the first sign-in
# of an unknown professional is a request the operator approves with
# `passerelle-hub partner approve`. Beneficiaries: [[vault_oidc]]
# (FranceConnect), which a person attaches to their vault account.
{partner_oidc}{vault_oidc}"#,
            name = self.name,
            messages = crate::messages::template(&self.messages, self.mail.as_ref(), self.sms.as_ref()),
            names = names.join(", "),
            quic = self.quic_listen,
            http = self.http_listen,
            http_header = h(self.http_header_timeout),
            http_body = h(self.http_body_timeout),
            http_max = self.http_max_connections,
            http_per_address = self.http_max_connections_per_address,
            ttl = h(self.token_ttl),
            validity = h(self.node_cert_validity),
            status = h(self.status_interval),
            timeout = h(self.query_timeout),
            liveness = h(self.liveness_interval),
            dead = h(self.dead_after),
            stall = h(self.stall_timeout),
            rate = self.enroll_per_minute,
            probes = self.probe_per_minute,
            refresh = h(self.refresh_interval),
            refresh_after_start = h(self.refresh_after_start),
            full_refreshes = self.history_full_refreshes,
            full_months = self.history_full_months,
            summary_days = self.history_summary_days,
            archive = match &self.history_archive {
                Some(d) => format!("history_archive = {:?}", d.display().to_string()),
                None => "# history_archive = \"archives-provenance\"".to_string(),
            },
            boundaries = match &self.boundaries {
                Some(b) => format!("boundaries = {:?}", b.display().to_string()),
                None => "# boundaries = \"/etc/passerelle/communes-976.geojson\"".to_string(),
            },
            prop = self.boundaries_code_property,
            quic_limits = self.quic().template(),
            accounts = self.partner_accounts_per_institution,
            session = h(self.session_ttl),
            logins = self.login_per_minute,
            totp = self.partner_totp.as_str(),
            vault = self.vault.template(),
            upstream = crate::upstream::template(self.upstream.as_ref()),
            store = crate::store::template(&self.store),
            partner_oidc = crate::oidc::template("partner_oidc", &self.partner_oidc, crate::oidc::PARTNER_EXAMPLE),
            vault_oidc = crate::oidc::template("vault_oidc", &self.vault_oidc, crate::oidc::VAULT_EXAMPLE),
            metrics = self.metrics_allow.iter().map(|ip| format!("\"{ip}\"")).collect::<Vec<_>>().join(", "),
            portal = match &self.portal_url {
                Some(u) => format!("portal_url = {u:?}"),
                None => "# portal_url = \"https://passerelle.example.fr\"".to_string(),
            },
            contact = match &self.contact {
                Some(c) => format!("contact = {c:?}"),
                None => "# contact = \"dpo@deets.example.fr\"".to_string(),
            },
            proxy = match &self.trusted_proxy {
                Some(ip) => format!("trusted_proxy = \"{ip}\""),
                None => "# trusted_proxy = \"127.0.0.1\"".to_string(),
            },
            https = match (&self.https_cert, &self.https_key) {
                (Some(c), Some(k)) => format!("https_cert = {:?}\nhttps_key = {:?}", c.display().to_string(), k.display().to_string()),
                _ => "# https_cert = \"/etc/passerelle/portail.crt\"\n# https_key = \"/etc/passerelle/portail.key\"".to_string(),
            },
            catalog = match &self.catalog_dir {
                Some(d) => format!("catalog_dir = {:?}", d.display().to_string()),
                None => "# catalog_dir = \"/etc/passerelle/indicateurs\"".to_string(),
            },
        )
    }
}
