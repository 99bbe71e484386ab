//! The console's pages: the portal's skeleton and stylesheet
//! (`passerelle_web::style`) with the console's own header (the
//! institution, the agent's menu by role, sign-out) and footer.

use axum::{http::StatusCode, response::Response};
use maud::{html, Markup};
use passerelle_web::style::{csrf_field, document, Shell};

use super::{auth::Signed, Console};
use crate::agents::Role;

pub use passerelle_web::{
    cookie::{private, redirect},
    french::date,
    style::{alert, column_heads, done},
};

/// The menu's entries: address, words, and the roles that see it (any
/// agent when empty).
const MENU: &[(&str, &str, &[Role])] = &[
    ("/", "Accueil", &[]),
    (
        "/donnees",
        "Données",
        &[Role::Data, Role::Validator, Role::Admin],
    ),
    ("/guichet", "Guichet", &[Role::Counter]),
    ("/journal", "Journal", &[Role::Admin]),
    ("/agents", "Agents", &[Role::Admin]),
    ("/compte", "Mon compte", &[]),
];

fn shell(console: &Console, title: &str, header: Markup, body: Markup) -> String {
    let creds = console.shared.creds();
    let full = format!("{title} — Console Passerelle");
    let footer = html! {
        "Console du nœud " code { (creds.identity.node_id) } " — " (creds.identity.institution)
        " · Passerelle " (crate::VERSION)
    };
    document(
        &Shell {
            lang: "fr",
            title: &full,
            skip: "Aller au contenu",
            header,
            notice: None,
            footer,
        },
        body,
    )
}

/// A page of a signed-in agent: their menu, with the current page marked.
pub fn signed(console: &Console, s: &Signed, current: &str, title: &str, body: Markup) -> Response {
    let creds = console.shared.creds();
    let header = html! {
        a.nom href="/" { "Passerelle" }
        " · Console de " (creds.identity.institution)
        nav.site aria-label="Console" {
            @for (href, words, roles) in MENU {
                @if roles.is_empty() || roles.iter().any(|r| s.agent.has(*r)) {
                    @if *href == current {
                        a href=(href) aria-current="page" { (words) }
                    } @else {
                        a href=(href) { (words) }
                    }
                }
            }
        }
        form.sortie method="post" action="/deconnexion" {
            (csrf_field(&s.session.csrf))
            button type="submit" { "Me déconnecter (" (s.agent.name) ")" }
        }
    };
    private(StatusCode::OK, shell(console, title, header, body))
}

/// A page before sign-in (or a step of it).
pub fn public(console: &Console, status: StatusCode, title: &str, body: Markup) -> Response {
    let creds = console.shared.creds();
    let header = html! {
        span.nom { "Passerelle" }
        " · Console de " (creds.identity.institution)
    };
    private(status, shell(console, title, header, body))
}

/// A page that says what went wrong, without the menu (errors outside a
/// signed-in page: unknown address, expired form).
pub fn problem(status: StatusCode, title: &str, text: &str) -> Response {
    let body = html! {
        h1 { (title) }
        p { (text) }
        p { a href="/" { "Retour à l'accueil de la console" } }
    };
    let page = document(
        &Shell {
            lang: "fr",
            title: &format!("{title} — Console Passerelle"),
            skip: "Aller au contenu",
            header: html! { a.nom href="/" { "Passerelle" } " · Console" },
            notice: None,
            footer: html! { "Console Passerelle" },
        },
        body,
    );
    private(status, page)
}

/// The refusal of a page the agent's roles do not open.
pub fn not_allowed(console: &Console, s: &Signed, role: Role) -> Response {
    let body = html! {
        h1 { "Accès réservé" }
        p { "Cette page est réservée aux agents qui ont le rôle « " (role.label()) " »." }
        p { "Demandez ce rôle à l'administrateur du nœud de votre institution." }
    };
    let mut res = signed(console, s, "", "Accès réservé", body);
    *res.status_mut() = StatusCode::FORBIDDEN;
    res
}

/// A form whose token is missing or stale.
pub fn form_expired() -> Response {
    problem(
        StatusCode::FORBIDDEN,
        "Formulaire expiré",
        "Ce formulaire a expiré ou a déjà servi. Revenez à la page et recommencez.",
    )
}

/// The store or the disk failed: said plainly, logged in detail.
pub fn unavailable(error: &crate::NodeError) -> Response {
    tracing::error!(%error, "console: the node failed");
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service momentanément indisponible",
        "Le nœud n'a pas pu enregistrer ou lire ce qu'il fallait. Réessayez dans un instant ; si cela continue, prévenez l'administrateur du nœud.",
    )
}

/// A day in French (`05/12/2026`), in Mayotte.
pub fn day(t: u64) -> String {
    passerelle_web::french::day(t)
}
