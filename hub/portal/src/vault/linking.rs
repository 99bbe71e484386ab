//! Link codes: the one-time code a person shows at a counter so that an
//! institution links its record to their vault (a few waiting at once at
//! most).

use super::{documents::documents_page, *};

/// POST `/coffre/lier`: a one-time link code to show at a counter.
pub async fn link_code(
    State(ctx): State<Arc<Ctx>>,
    Checked { by: s, .. }: Checked<Person>,
) -> Response {
    match links::new_code(&ctx.vault.store, &s.person, now()) {
        Ok((code, until)) => {
            let body = html! {
                h1 { "Relier une institution" }
                p {
                    "Montrez ce code au professionnel de l'institution "
                    "(CAF, France Travail, Conseil départemental…)."
                }
                p.code aria-label="code à montrer" { (code) }
                p { "Il sert une seule fois, jusqu'au " (date(until)) "." }
                p.note {
                    "Vous pouvez avoir " (links::MAX_LINK_CODES)
                    " codes en attente au plus : un code qui n'a pas servi s'efface tout seul quand il expire."
                }
                p.note {
                    "L'institution ne reçoit pas votre identifiant : "
                    "seulement un numéro qui ne sert qu'à elle."
                }
            };
            private(
                StatusCode::OK,
                vault_page(&ctx, "Relier une institution", Some(&s), body),
            )
        }
        Err(vault::VaultError::Refused(r)) => {
            documents_page(
                &ctx,
                &s,
                Some(&refusal_french(&r)),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await
        }
        Err(error) => {
            tracing::error!(%error, "link code not stored");
            documents_page(
                &ctx,
                &s,
                Some("Le code n'a pas pu être créé. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}
