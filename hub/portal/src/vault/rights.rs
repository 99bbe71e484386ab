//! The person's account page: the institutions linked to the vault (each
//! can be unlinked), and "Supprimer mon compte" with what it erases and
//! what it keeps, in plain words. Also the notice shown after a sign-in
//! that kept an inactive account.

use super::*;
use passerelle_vault::rights::{self, Ended, Retention};

fn retention(ctx: &Ctx) -> Retention {
    Retention::of(&ctx.hub.config.vault)
}

/// Notes a sign-in (the inactivity clock starts again).
pub(super) fn seen(ctx: &Ctx, person: &str) {
    if let Err(error) = rights::signed_in(&ctx.vault.store, person, now()) {
        tracing::warn!(%error, "sign-in time not recorded");
    }
}

/// The warning given to an inactive account, once, after the sign-in
/// that kept it.
pub(super) fn inactivity_notice(ctx: &Ctx, person: &str) -> Markup {
    match rights::take_warning(&ctx.vault.store, person, &retention(ctx)) {
        Ok(Some(due)) => alert(&format!(
            "Votre compte n'avait pas servi depuis longtemps : il devait être supprimé le {}. \
             Comme vous venez de vous connecter, il est gardé.",
            Tr::current().date(due)
        )),
        _ => html! {},
    }
}

fn days_in_words(days: u64) -> String {
    if days.is_multiple_of(365) && days > 0 {
        let years = days / 365;
        format!("{years} an{}", if years > 1 { "s" } else { "" })
    } else {
        format!("{days} jour{}", if days > 1 { "s" } else { "" })
    }
}

pub(super) fn page_of(
    ctx: &Ctx,
    s: &accounts::PersonSession,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let links = ctx.vault.store.links(&s.person).unwrap_or_default();
    let r = retention(ctx);
    let body = html! {
        h1 { "Mon compte" }
        @if let Some(m) = message { (alert(m)) }
        p { "Votre identifiant : " strong { (s.login) } }
        (super::settings::section(ctx, s))
        h2 { "Institutions reliées" }
        @if links.is_empty() {
            p { "Aucune institution n'est reliée à votre coffre." }
        } @else {
            p {
                "Si vous ne reliez plus une institution, vous ne verrez plus ses documents dans votre coffre, "
                "et les autorisations qui la concernent s'arrêtent. Elle garde son dossier, comme avant."
            }
            ul {
                @for (node, since) in &links {
                    li {
                        (ctx.vault.node_name(node)) " (reliée le " (Tr::current().date(*since)) ") "
                        form method="post" action={ "/coffre/compte/delier/" (node) } {
                            (hidden(&s.csrf))
                            button.gros.clair type="submit" { "Ne plus relier" }
                        }
                    }
                }
            }
        }
        h2 #supprimer { "Supprimer mon compte" }
        p { "Si vous supprimez votre compte :" }
        ul {
            li { "les documents que vous avez déposés sont effacés pour toujours ;" }
            li { "toutes vos autorisations s'arrêtent : plus personne ne peut voir vos documents ;" }
            li { "les institutions ne sont plus reliées à votre coffre (elles gardent leurs dossiers) ;" }
            li { "vous êtes déconnecté partout." }
        }
        p {
            "La liste de qui a vu vos documents (le journal) est gardée "
            (days_in_words(r.journal_days))
            " après la suppression, comme la loi le demande, puis effacée. "
            "Les copies vérifiables déjà remises restent vérifiables, sans votre nom."
        }
        p { "Pensez à tout télécharger avant, si vous voulez garder vos documents." }
        form method="post" action="/coffre/compte/supprimer" {
            (hidden(&s.csrf))
            p {
                label for="mdp" { "Tapez votre mot de passe pour confirmer" } br;
                input #mdp name="mdp" type="password" autocomplete="current-password" required;
            }
            p { label {
                input type="checkbox" name="confirme" value="oui" required;
                " Je veux supprimer mon compte et effacer mes documents déposés."
            } }
            p { button.gros type="submit" { "Supprimer mon compte" } }
        }
    };
    private(status, vault_page(ctx, "Mon compte", Some(s), body))
}

/// GET `/coffre/compte`.
pub async fn account_page(State(ctx): State<Arc<Ctx>>, s: Person) -> Response {
    page_of(&ctx, &s, None, StatusCode::OK)
}

/// Tells the nodes now what a deletion or an unlinking ended; those that
/// are not connected hear it when they are back.
fn tell_nodes(ctx: &Arc<Ctx>, ended: Ended) {
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let timeout = ctx.hub.config.query_timeout;
        for (node, id) in ended.revoked {
            if let Some(live) = ctx.registry.get(&node) {
                let sent = passerelle_hub_core::federation::send_revocations(
                    &live,
                    &ctx.hub.key,
                    vec![id],
                    timeout,
                )
                .await;
                if let Err(error) = sent {
                    tracing::warn!(%error, "revocation not delivered now");
                }
            }
        }
        for node in ended.forget {
            if let Some(live) = ctx.registry.get(&node) {
                rights::tell_node(&ctx.vault.store, &ctx.hub.key, &live, timeout).await;
            }
        }
    });
}

/// POST `/coffre/compte/delier/{node}`.
pub async fn unlink(
    State(ctx): State<Arc<Ctx>>,
    Path(node): Path<String>,
    Checked { by: s, .. }: Checked<Person>,
) -> Response {
    let Ok(node) = NodeId::new(node) else {
        let m = refusal_french(&vault::Refusal::NotLinked);
        return page_of(&ctx, &s, Some(&m), StatusCode::NOT_FOUND);
    };
    let name = ctx.vault.node_name(&node);
    match rights::unlink(&ctx.vault.store, &s.person, &node, now()) {
        Ok(ended) => {
            tell_nodes(&ctx, ended);
            let m = format!("{name} n'est plus reliée à votre coffre.");
            page_of(&ctx, &s, Some(&m), StatusCode::OK)
        }
        Err(vault::VaultError::Refused(r)) => {
            page_of(&ctx, &s, Some(&refusal_french(&r)), StatusCode::NOT_FOUND)
        }
        Err(error) => {
            tracing::error!(%error, "unlink failed");
            let m = "Cela n'a pas pu se faire. Réessayez plus tard.";
            page_of(&ctx, &s, Some(m), StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// POST `/coffre/compte/supprimer`: with the password typed again.
pub async fn delete_account(
    State(ctx): State<Arc<Ctx>>,
    Checked { by: s, fields: f }: Checked<Person>,
) -> Response {
    if f.get("confirme") != "oui" {
        let m = "Cochez la case pour confirmer.";
        return page_of(&ctx, &s, Some(m), StatusCode::BAD_REQUEST);
    }
    // The password is guessed no faster here than at sign-in.
    if !ctx
        .account_limiter
        .handle_attempt(format!("vault:{}", s.login), now())
    {
        let m = "Trop de tentatives. Attendez une minute avant de réessayer.";
        return page_of(&ctx, &s, Some(m), StatusCode::TOO_MANY_REQUESTS);
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        let m = "Le service est très sollicité. Réessayez dans un instant.";
        return page_of(&ctx, &s, Some(m), StatusCode::SERVICE_UNAVAILABLE);
    };
    let (store, login, password) = (
        ctx.vault.store.clone(),
        s.login.clone(),
        f.get("mdp").to_string(),
    );
    let checked = tokio::task::spawn_blocking(move || {
        accounts::sign_in(&store, &login, &password).map(|ok| ok.is_some())
    })
    .await;
    if !matches!(checked, Ok(Ok(true))) {
        let m = refusal_french(&vault::Refusal::WrongPassword);
        return page_of(&ctx, &s, Some(&m), StatusCode::UNAUTHORIZED);
    }
    let deleted = rights::delete_account(
        &ctx.hub.dir.vault(),
        &ctx.vault.store,
        &s.person,
        Actor::Person,
        &retention(&ctx),
        now(),
    );
    match deleted {
        Ok(ended) => {
            ctx.person_sessions.close_all(&s.person);
            tell_nodes(&ctx, ended);
            let body = html! {
                h1 { "Votre compte est supprimé" }
                p { "Vos documents déposés sont effacés et plus personne ne peut voir vos documents." }
                p { a href="/coffre" { "Retour" } }
            };
            let mut res = private(
                StatusCode::OK,
                vault_page(&ctx, "Compte supprimé", None, body),
            );
            res.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_static(
                    "pv_session=; HttpOnly; Secure; SameSite=Strict; Path=/coffre; Max-Age=0",
                ),
            );
            res
        }
        Err(error) => {
            tracing::error!(%error, "account not deleted");
            let m = "Le compte n'a pas pu être supprimé. Réessayez plus tard.";
            page_of(&ctx, &s, Some(m), StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}
