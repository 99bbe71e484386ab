//! The drafts partners see: for each indicator whose latest refresh was
//! not published, when it ran, what it covers, which institutions are
//! missing and why, and which result stays published meanwhile.

use maud::{html, Markup};
use passerelle_observatory::{
    catalog::{Audience, Indicator},
    Reader,
};

use crate::{
    layout::{column_heads, date, number},
    pages::coverage::{absence_fr, held_back_fr, missing_name, share_fr},
    state::Ctx,
};

/// The section of the partners' home listing the pending drafts (of
/// every indicator the partner may read, partner-only ones included).
pub(super) fn drafts(ctx: &Ctx, reader: Reader) -> Markup {
    let rows: Vec<_> = ctx
        .catalog_for(reader)
        .into_iter()
        .filter_map(|ind| Some((ind, ctx.pending_draft_for(reader, &ind.id)?)))
        .collect();
    let sheet = |ind: &Indicator| match ind.audience {
        Audience::Public => format!("/indicateur/{}", ind.id),
        Audience::Partners => format!("/partenaires/indicateur/{}", ind.id),
    };
    html! {
        @if rows.is_empty() {
            p { "Toutes les dernières actualisations sont complètes et publiées." }
        } @else {
            p {
                "Ces actualisations n'ont pas été publiées parce qu'il y manque des contributions. "
                "Le public voit toujours le dernier résultat complet, avec une note qui le signale. "
                "Les chiffres ci-dessous sont des brouillons : ne les diffusez pas."
            }
            table #brouillons {
                (column_heads(&[
                    "Indicateur",
                    "Actualisation du",
                    "Couverture",
                    "Contributions manquantes",
                    "Pourquoi non publié",
                    "Résultat publié",
                ]))
                tbody {
                    @for (ind, d) in &rows {
                        tr {
                            td { a href=(sheet(ind)) { (ind.title) } }
                            td { (date(d.result.computed_at)) }
                            td {
                                (share_fr(d.share)) " ("
                                (number(d.share.fraction() * 100.0, 0)) " %)"
                            }
                            td {
                                ul {
                                    @for g in &d.gaps {
                                        li {
                                            strong { (missing_name(&g.name, &g.dataset)) }
                                            @if g.name != "-" { " (données « " (g.dataset) " »)" }
                                            " : " (absence_fr(&g.why))
                                        }
                                    }
                                }
                            }
                            td { (held_back_fr(d.held_back)) }
                            td {
                                @match ctx.latest_for(reader, &ind.id) {
                                    Some(r) => { "calculé le " (date(r.computed_at)) }
                                    None => "aucun pour l'instant",
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
