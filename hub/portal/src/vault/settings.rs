//! The person's account page: notices by SMS or e-mail, and a code when
//! signing in from a new device. Both are off until the person turns
//! them on, and only offered when a message can reach their identifier.

use passerelle_vault::{notify::Identifier, store::Preferences};

use super::*;

/// The account page.
fn settings_page(ctx: &Ctx, s: &accounts::PersonSession, message: Option<&str>) -> Response {
    let prefs = ctx.vault.store.preferences(&s.person).unwrap_or_default();
    let to = Identifier::of_login(&s.login);
    let how = match to {
        Identifier::Email(_) => "par e-mail",
        Identifier::Phone(_) => "par SMS",
    };
    let reachable = ctx.senders.can_reach(&to);
    let body = html! {
        h1 { "Mon compte" }
        @if let Some(m) = message { p.ok role="status" { (m) } }
        p { "Votre identifiant : " strong { (s.login) } }
        @if reachable {
            form method="post" action="/coffre/compte" {
                (hidden(&s.csrf))
                fieldset {
                    legend { "Être averti " (how) }
                    p {
                        input #avis type="checkbox" name="avis" value="oui" checked[prefs.notices];
                        label for="avis" {
                            " M'avertir quand une institution dépose un document dans mon coffre, quand un professionnel ouvre un de mes documents avec mon autorisation, et 3 jours avant la fin d'une autorisation."
                        }
                    }
                    p.note { "Le message ne dit jamais ce que contient le document : seulement qu'il y a du nouveau, et quelle institution." }
                }
                fieldset {
                    legend { "Sécurité" }
                    p {
                        input #appareil type="checkbox" name="appareil" value="oui" checked[prefs.new_device_code];
                        label for="appareil" {
                            " Me demander un code envoyé " (how) " quand je me connecte depuis un autre téléphone ou un autre ordinateur."
                        }
                    }
                }
                p { button.gros type="submit" { "Enregistrer" } }
            }
        } @else {
            p { "Les avis " (how) " ne sont pas encore possibles sur ce service." }
        }
    };
    private(StatusCode::OK, vault_page(ctx, "Mon compte", Some(s), body))
}

/// GET `/coffre/compte`.
pub async fn settings(State(ctx): State<Arc<Ctx>>, s: Person) -> Response {
    settings_page(&ctx, &s, None)
}

/// POST `/coffre/compte`.
pub async fn save_settings(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Checked { by: s, fields: f }: Checked<Person>,
) -> Response {
    if !ctx
        .senders
        .can_reach(&passerelle_vault::notify::Identifier::of_login(&s.login))
    {
        return settings_page(&ctx, &s, None);
    }
    let prefs = Preferences {
        notices: f.get("avis") == "oui",
        new_device_code: f.get("appareil") == "oui",
    };
    if let Err(error) = ctx.vault.store.put_preferences(&s.person, &prefs) {
        tracing::error!(%error, "preferences not saved");
        return axum::response::IntoResponse::into_response(crate::PortalError::Internal);
    }
    person_did(
        &ctx,
        &s.person,
        Action::Other("preferences".into()),
        "-",
        format!(
            "notices: {}, code from a new device: {}",
            prefs.notices, prefs.new_device_code
        ),
    );
    let res = settings_page(&ctx, &s, Some("Vos choix sont enregistrés."));
    // The device the choice is made on is a known one from now on.
    if prefs.new_device_code && !identify::known_device(&ctx, &s.person, &headers) {
        if let Some(d) = identify::remember_device(&ctx, &s.person, now()) {
            return identify::with_device(res, &d);
        }
    }
    res
}
