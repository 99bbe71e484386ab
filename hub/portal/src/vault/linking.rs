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
            let tr = Tr::current();
            let body = html! {
                h1 { (tr.t("lien-titre")) }
                p { (tr.t("lien-montrez")) }
                p.code aria-label=(tr.t("lien-code-nom")) { (code) }
                p { (tr.a("coffre-lien-une-fois", &[("date", tr.date(until).into())])) }
                p.note { (tr.a("lien-en-attente", &[("max", links::MAX_LINK_CODES.into())])) }
                p.note { (tr.t("lien-pseudonyme")) }
            };
            private(
                StatusCode::OK,
                vault_page(&ctx, &tr.t("lien-titre"), Some(&s), body),
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
                Some(&Tr::current().t("lien-non-cree")),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}
