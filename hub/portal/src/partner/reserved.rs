//! Indicators reserved to partners (`audience = "partners"` in the
//! catalog): their list and a sheet each, behind a partner session. They
//! are read with the session's [`PartnerPass`]; public pages read the
//! public view and never see them. Pages are never cached.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use maud::html;
use passerelle_observatory::{catalog::Audience, PartnerPass, Reader};
use passerelle_protocol::geo::{self, Level};

use super::{private, session, to_login};
use crate::{
    layout::{column_heads, date, number, page, CellMark},
    state::Ctx,
};

/// The reader of a signed-in partner with no step left.
fn partner(ctx: &Ctx, headers: &HeaderMap) -> Option<Reader> {
    let (_, s) = session(ctx, headers)?;
    PartnerPass::of(&s).map(Reader::Partner)
}

fn text(v: Option<f64>, decimals: u8, unit: &str, suppressed: bool) -> String {
    match v {
        Some(v) => format!("{} {unit}", number(v, decimals)),
        None if suppressed => "secret statistique".into(),
        None => "non disponible".into(),
    }
}

/// GET `/partenaires/indicateurs`: the partner-only indicators.
pub async fn list(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    let Some(reader) = partner(&ctx, &headers) else {
        return to_login();
    };
    let inds: Vec<_> = ctx
        .catalog_for(reader)
        .into_iter()
        .filter(|i| i.audience == Audience::Partners)
        .collect();
    let body = html! {
        h1 { "Indicateurs réservés aux partenaires" }
        p { "Ces indicateurs ne sont publiés ni sur le site public, ni dans les données ouvertes, ni dans l'API. Ne les diffusez pas." }
        @if inds.is_empty() { p { "Aucun indicateur réservé pour l'instant." } }
        ul {
            @for i in &inds {
                li { a href={ "/partenaires/indicateur/" (i.id) } { (i.title) } }
            }
        }
        p { a href="/partenaires" { "Retour à l'espace des partenaires" } }
    };
    private(StatusCode::OK, page(&ctx, "Indicateurs réservés", body))
}

/// GET `/partenaires/indicateur/{id}`: any indicator the partner may read,
/// latest period, every territory.
pub async fn sheet(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(reader) = partner(&ctx, &headers) else {
        return to_login();
    };
    let Some(ind) = ctx.observatory.indicator_for(reader, &id) else {
        return axum::response::IntoResponse::into_response(crate::PortalError::NotFound);
    };
    let r = ctx.latest_for(reader, &id);
    let period = r
        .as_ref()
        .and_then(|r| r.cells.iter().map(|c| c.period).max());
    let rows: Vec<(Level, &str, &str, String)> = match (&r, period) {
        (Some(r), Some(p)) => [Level::Department, Level::Epci, Level::Commune]
            .into_iter()
            .flat_map(|l| geo::codes(l).into_iter().map(move |c| (l, c)))
            .filter_map(|(l, c)| {
                let cell = r
                    .cells
                    .iter()
                    .find(|x| x.level == l && x.code == c && x.period == p)?;
                let suppressed = cell.status == passerelle_observatory::compose::Status::Suppressed;
                Some((
                    l,
                    c,
                    geo::name(l, c).unwrap_or(c),
                    text(cell.value, ind.decimals, &ind.unit, suppressed),
                ))
            })
            .collect(),
        _ => Vec::new(),
    };
    let body = html! {
        @if ind.audience == Audience::Partners {
            p.demo role="note" { "Indicateur réservé aux partenaires : ne le diffusez pas." }
        }
        h1 { (ind.title) }
        p { (ind.definition) }
        p.note { "Unité : " (ind.unit) " · Sources : " (ind.sources.join(", ")) " · " (passerelle_observatory::catalog::describe_fr(&ind.formula)) }
        @match (&r, period) {
            (Some(r), Some(p)) => {
                p { "Période " (p) ", calculé le " (date(r.computed_at)) "." }
                table {
                    caption { (ind.title) " (" (p) ")" }
                    (column_heads(&["Niveau", "Territoire", "Valeur"]))
                    tbody {
                        @for (l, code, name, v) in &rows {
                            @let m = CellMark::of(&ind.id, *l, code, &p);
                            tr {
                                td { (l.label_fr()) }
                                th scope="row" { (name) }
                                td.n data-indicator=(m.indicator) data-level=(m.level) data-code=(m.code) data-period=(m.period) { (v) }
                            }
                        }
                    }
                }
            }
            _ => { p { "Cet indicateur n'a pas encore été calculé." } }
        }
        p { a href="/partenaires/indicateurs" { "Indicateurs réservés" } }
    };
    private(StatusCode::OK, page(&ctx, &ind.title, body))
}
