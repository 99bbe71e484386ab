//! The person's own uploads in the sharing page: chosen by the person,
//! given to one professional, their keys sealed to that professional by
//! the vault ([`passerelle_vault::share`]); listed with the other
//! consents and revoked the same way.

use super::*;
use passerelle_vault::share::{self, UploadGrant};

/// The uploads the person can choose to share.
pub(super) fn uploads_fieldset(ctx: &Ctx, s: &accounts::PersonSession) -> Markup {
    let ups = ctx.vault.store.uploads(&s.person).unwrap_or_default();
    html! {
        @if !ups.is_empty() {
            p { "Mes documents déposés (seulement avec un professionnel précis) :" }
            @for u in &ups {
                p { label {
                    input type="checkbox" name="depot" value=(u.id);
                    " " (u.category.label()) " : " (u.name) " (déposé par moi)"
                } }
            }
        }
    }
}

/// The person's shares of uploads, as rows of the consents table.
pub(super) fn shares_table(ctx: &Ctx, s: &accounts::PersonSession, t: u64) -> Markup {
    let shares = ctx.vault.store.shares_of(&s.person).unwrap_or_default();
    html! {
        @if !shares.is_empty() {
            h3 { "Mes documents déposés partagés" }
            table {
                (table_head(&["Qui", "Quoi", "Pour", "Jusqu'au", "État"]))
                tbody {
                    @for c in &shares {
                        tr {
                            td { (c.grantee_label) }
                            td { (c.scope_label) }
                            td { (Tr::current().procedure(&c.procedure)) }
                            td { (Tr::current().until(c.not_after)) }
                            td {
                                @if let Some(r) = c.revoked_at {
                                    "Retirée le " (Tr::current().date(r))
                                } @else if !c.active(t) {
                                    "Terminée"
                                } @else {
                                    form method="post" action={ "/coffre/partages/" (c.id) "/retirer" } {
                                        (hidden(&s.csrf))
                                        button.gros.clair type="submit" { "Retirer" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Grants what the form asks: a share of uploads when it names uploads
/// (or categories, to a professional who can receive them), and the
/// consent over institutions' documents when it names some. The share is
/// checked first; if the consent is then refused, the share is revoked.
///
/// # Errors
/// The first refusal, or a store failure.
pub(super) fn grant(
    ctx: &Ctx,
    s: &accounts::PersonSession,
    f: &extract::Fields,
    g: &consent::Grant,
    t: u64,
) -> Result<(), vault::VaultError> {
    let store = &ctx.vault.store;
    let chosen: Vec<String> = f.all("depot").map(str::to_string).collect();
    let mut categories: Vec<Category> = Vec::new();
    for c in f.all("categorie").filter_map(|v| Category::parse(v).ok()) {
        if !categories.contains(&c) {
            categories.push(c);
        }
    }
    let receives = match &g.grantee.0 {
        Grantee::Professional { account, .. } => store.pro_key(account)?.is_some(),
        Grantee::Institution(_) => false,
    };
    let by_category = receives && !categories.is_empty();
    let mut shared = None;
    if !chosen.is_empty() || by_category {
        let mut words = Vec::new();
        if !chosen.is_empty() {
            words.push(format!("{} document(s) déposé(s)", chosen.len()));
        }
        if by_category {
            let kinds: Vec<&str> = categories.iter().map(|c| c.label()).collect();
            words.push(format!("mes documents déposés : {}", kinds.join(", ")));
        }
        let up = UploadGrant {
            person: s.person.clone(),
            grantee: g.grantee.clone(),
            uploads: chosen,
            categories: if by_category { categories } else { Vec::new() },
            scope_label: words.join(" ; "),
            procedure: g.procedure.clone(),
            until: g.until,
        };
        shared = Some(share::grant(store, &s.key, &up, t)?);
    }
    if g.scopes.is_empty() && shared.is_some() {
        return Ok(());
    }
    match consent::grant(store, &ctx.hub.key, g, t) {
        Ok(_) => Ok(()),
        Err(e) => {
            if let Some(sh) = shared {
                share::revoke(store, &s.person, &sh.id, t)?;
            }
            Err(e)
        }
    }
}

/// Revokes a share of uploads of the person's, if `id` is one; its keys
/// are erased at once.
pub(super) fn revoke(ctx: &Ctx, s: &accounts::PersonSession, id: &str) -> Option<Result<(), ()>> {
    let found = ctx.vault.store.share(id).ok().flatten()?;
    if found.person != s.person {
        return None;
    }
    Some(
        share::revoke(&ctx.vault.store, &s.person, id, now())
            .map(|_| ())
            .map_err(|error| tracing::error!(%error, "share not revoked")),
    )
}

/// A refused access to a shared upload, as the person's journal says it
/// (the detail the vault recorded is the refusal's code).
pub(super) fn journal_words(detail: &str) -> Option<&'static str> {
    Some(match detail {
        "no_share" => "l'autorisation était retirée, terminée, ou donnée à quelqu'un d'autre",
        "not_covered" => "ce document déposé n'était pas partagé",
        "key_replaced" => {
            "le professionnel ne pouvait plus l'ouvrir (son mot de passe a été réinitialisé)"
        }
        "unrecorded" => "l'accès n'a pas pu être noté, il a donc été refusé",
        _ => return None,
    })
}
