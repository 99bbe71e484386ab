//! The quarterly report of a social-action programme: its own figures
//! against its targets (department level), interventions per staff
//! member where a staff count is declared, and the written part a partner
//! of the institution running it enters here. Printable: the page's
//! forms and menus are hidden in print.
//!
//! Figures are the published indicators' with their disclosure control: a
//! masked figure reads « < seuil », with no rate against its target.
//! Only partners of the programme's institution may write its report;
//! each save is recorded in the hub's audit chain first (refused if it
//! cannot be), bounded to [`NOTE_MAX_CHARS`] characters, and every text is
//! escaped when shown.

use std::sync::Arc;

use axum::{
    extract::{Form, Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use maud::{html, Markup};
use passerelle_link::now;
use passerelle_observatory::{
    breakdown::Breakdown,
    catalog::Indicator,
    compose::Status,
    programme::{self, Note, Programme, NOTE_MAX_CHARS},
};
use passerelle_protocol::{
    audit::{Action, Actor, Event},
    geo::{self, Level},
    period::Period,
};
use serde::Deserialize;

use super::{forbidden, private, session, to_login};
use crate::{
    layout::{alert, csrf_field, date, number, page, CellMark},
    pages::breakdowns::{category_label, dimension_label},
    state::Ctx,
    PortalError,
};

/// The report's query.
#[derive(Debug, Deserialize)]
pub struct ProgrammeParams {
    periode: Option<String>,
}

/// GET the list of programmes.
pub async fn list(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    if session(&ctx, &headers).is_none() {
        return to_login();
    }
    let body = html! {
        h1 { "Programmes et objectifs" }
        @if ctx.observatory.programmes.is_empty() {
            p { "Aucun programme n'est déclaré sur cette plateforme." }
        } @else {
            ul {
                @for p in &ctx.observatory.programmes {
                    li {
                        a href={ "/partenaires/programme/" (p.id) } { (p.title) }
                        " — " (institution_name(&ctx, p))
                    }
                }
            }
        }
        p { a href="/partenaires" { "Retour à l'espace des partenaires" } }
    };
    private(StatusCode::OK, page(&ctx, "Programmes et objectifs", body))
}

/// GET a programme's quarterly report.
pub async fn report(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ProgrammeParams>,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_login();
    };
    let Some(p) = ctx.observatory.programmes.iter().find(|p| p.id == id) else {
        return PortalError::NotFound.into_response();
    };
    let periods = periods(&ctx, p);
    let period = q
        .periode
        .and_then(|x| x.parse::<Period>().ok())
        .filter(|x| periods.contains(x))
        .or_else(|| default_period(&ctx, p, &periods));
    let writer = may_write(&ctx, &s.email, p);
    let Some(period) = period else {
        let body = html! {
            h1 { "Bilan du programme — " (p.title) }
            p { "Aucun chiffre ni objectif n'est encore disponible pour ce programme." }
        };
        return private(StatusCode::OK, page(&ctx, "Bilan du programme", body));
    };
    let csrf = writer.then_some(s.csrf.as_str());
    let body = render(&ctx, p, period, &periods, csrf, None);
    private(StatusCode::OK, page(&ctx, "Bilan du programme", body))
}

/// The written part's form.
#[derive(Debug, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    periode: String,
    #[serde(default)]
    texte: String,
}

/// POST the written part of a programme's report for a period.
pub async fn save(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<NoteForm>,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_login();
    };
    if f.csrf.is_empty()
        || !passerelle_protocol::sign::constant_time_eq(s.csrf.as_bytes(), f.csrf.as_bytes())
    {
        return forbidden(&ctx);
    }
    let Some(p) = ctx.observatory.programmes.iter().find(|p| p.id == id) else {
        return PortalError::NotFound.into_response();
    };
    let Some(institution) = may_write(&ctx, &s.email, p).then_some(&p.institution) else {
        tracing::warn!(account = %s.email, programme = %p.id, "programme report write refused: other institution");
        let body = html! {
            h1 { "Écriture refusée" }
            p { "Seuls les comptes de l'institution qui conduit ce programme peuvent écrire son bilan." }
        };
        return private(StatusCode::FORBIDDEN, page(&ctx, "Écriture refusée", body));
    };
    let periods = periods(&ctx, p);
    let Some(period) = f
        .periode
        .parse::<Period>()
        .ok()
        .filter(|x| periods.contains(x))
    else {
        return PortalError::BadRequest("Période inconnue pour ce programme.").into_response();
    };
    let text = f.texte.replace("\r\n", "\n");
    let chars = text.chars().count();
    if chars > NOTE_MAX_CHARS {
        let message = format!(
            "Le texte est trop long : {chars} caractères pour {NOTE_MAX_CHARS} au plus. Il n'a pas été enregistré."
        );
        let body = render(
            &ctx,
            p,
            period,
            &periods,
            Some(&s.csrf),
            Some((&message, &text)),
        );
        return private(
            StatusCode::BAD_REQUEST,
            page(&ctx, "Bilan du programme", body),
        );
    }
    let event = Event {
        actor: Actor::Professional {
            account: s.email.clone(),
            institution: institution.to_string(),
        },
        action: Action::ReportWritten,
        person: None,
        subject: format!("programme:{}", p.id),
        procedure: None,
        detail: format!("{period}, {chars} caractères"),
    };
    // A write that cannot be recorded does not happen.
    if !ctx.vault.log(event) {
        return PortalError::Unavailable.into_response();
    }
    let note = Note {
        text,
        author: s.email.clone(),
        at: now(),
    };
    if let Err(error) = programme::save_note(&ctx.hub.store, &p.id, period, &note) {
        tracing::error!(%error, programme = %p.id, "programme note not saved");
        return PortalError::Unavailable.into_response();
    }
    tracing::info!(account = %s.email, programme = %p.id, %period, "programme report written");
    (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            format!("/partenaires/programme/{}?periode={period}", p.id),
        )],
    )
        .into_response()
}

/// Whether the signed-in account belongs to the programme's institution.
fn may_write(ctx: &Ctx, email: &str, p: &Programme) -> bool {
    ctx.hub
        .store
        .account(email)
        .ok()
        .flatten()
        .is_some_and(|a| a.institution == p.institution)
}

fn institution_name(ctx: &Ctx, p: &Programme) -> String {
    ctx.hub
        .store
        .node(&p.institution)
        .ok()
        .flatten()
        .map(|n| n.name)
        .unwrap_or_else(|| p.institution.to_string())
}

/// The periods of a programme: those with a target or a staff count, and
/// those its indicators have figures for.
fn periods(ctx: &Ctx, p: &Programme) -> Vec<Period> {
    let mut all = p.periods();
    for i in &p.indicators {
        if let Some(r) = ctx.latest(i) {
            all.extend(r.cells.iter().map(|c| c.period));
        }
    }
    all.sort();
    all.dedup();
    all
}

/// The latest period with a published figure, else the latest declared.
fn default_period(ctx: &Ctx, p: &Programme, periods: &[Period]) -> Option<Period> {
    let with_figures = p
        .indicators
        .iter()
        .filter_map(|i| ctx.latest(i))
        .flat_map(|r| r.cells.iter().map(|c| c.period).collect::<Vec<_>>())
        .max();
    with_figures.or_else(|| periods.last().copied())
}

/// An indicator's figure for the department in a period.
enum Figure {
    /// Published.
    Value(f64),
    /// Masked by disclosure control.
    BelowThreshold,
    /// Not computed (yet) for that period.
    Missing,
}

fn figure(ctx: &Ctx, indicator: &str, period: Period) -> Figure {
    let Some(r) = ctx.latest(indicator) else {
        return Figure::Missing;
    };
    let cell = r.cells.iter().find(|c| {
        c.level == Level::Department && c.code == geo::DEPARTMENT_CODE && c.period == period
    });
    match cell {
        Some(c) if c.status == Status::Released => c.value.map_or(Figure::Missing, Figure::Value),
        Some(c) if c.status == Status::Suppressed => Figure::BelowThreshold,
        _ => Figure::Missing,
    }
}

fn shown(f: &Figure, decimals: u8) -> String {
    match f {
        Figure::Value(v) => number(*v, decimals),
        Figure::BelowThreshold => "< seuil".into(),
        Figure::Missing => "—".into(),
    }
}

/// Whether other institutions than the programme's contribute to an
/// indicator's latest result.
fn shared(ctx: &Ctx, p: &Programme, indicator: &str) -> bool {
    ctx.latest(indicator).is_some_and(|r| {
        r.coverage
            .answered
            .iter()
            .any(|a| a.node_id != p.institution.as_str())
    })
}

/// A breakdown figure of the department, as the report shows it.
fn category_figure(b: &Breakdown, cat: &str, period: Period) -> Figure {
    let cell = b.cells.iter().find(|c| {
        c.category == cat
            && c.cell.level == Level::Department
            && c.cell.code == geo::DEPARTMENT_CODE
            && c.cell.period == period
    });
    match cell {
        Some(c) if c.cell.status == Status::Released => {
            c.cell.value.map_or(Figure::Missing, Figure::Value)
        }
        Some(c) if c.cell.status == Status::Suppressed => Figure::BelowThreshold,
        _ => Figure::Missing,
    }
}

/// The programme's activity by category: every published breakdown of
/// its indicators (the problems dealt with, who was received), for the
/// department, at the period and the one before.
fn categories(ctx: &Ctx, rows: &[&Indicator], period: Period, previous: Option<Period>) -> Markup {
    let results: Vec<_> = rows
        .iter()
        .filter_map(|ind| ctx.latest(&ind.id).map(|r| (*ind, r)))
        .filter(|(_, r)| r.breakdowns.iter().any(Breakdown::published))
        .collect();
    html! {
        @if !results.is_empty() {
            h2 { "Activité par catégorie" }
            @for (ind, r) in &results {
                @for b in r.breakdowns.iter().filter(|b| b.published()) {
                    table.categories data-indicator=(ind.id) data-by=(b.by) {
                        caption { (ind.title) " par " (dimension_label(&b.by)) " (" (ind.unit) ")" }
                        thead {
                            tr {
                                th scope="col" { "Catégorie" }
                                th scope="col" class="n" { "Réalisé " (period) }
                                @if let Some(x) = previous { th scope="col" class="n" { "Réalisé " (x) } }
                            }
                        }
                        tbody {
                            @for cat in &b.categories {
                                @let m = crate::pages::breakdowns::mark(ind, &b.by, cat, Level::Department, geo::DEPARTMENT_CODE, &period);
                                tr {
                                    th scope="row" { (category_label(&b.by, cat)) }
                                    td.n data-indicator=(m.indicator) data-level=(m.level) data-code=(m.code)
                                        data-period=(m.period) data-category=[m.category.as_deref()] {
                                        (shown(&category_figure(b, cat, period), ind.decimals))
                                    }
                                    @if let Some(x) = previous {
                                        @let pm = crate::pages::breakdowns::mark(ind, &b.by, cat, Level::Department, geo::DEPARTMENT_CODE, &x);
                                        td.n data-indicator=(pm.indicator) data-level=(pm.level) data-code=(pm.code)
                                            data-period=(pm.period) data-category=[pm.category.as_deref()] {
                                            (shown(&category_figure(b, cat, x), ind.decimals))
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
}

fn render(
    ctx: &Ctx,
    p: &Programme,
    period: Period,
    periods: &[Period],
    csrf: Option<&str>,
    rejected: Option<(&str, &str)>,
) -> Markup {
    let previous = periods.iter().rev().find(|x| **x < period).copied();
    let rows: Vec<&Indicator> = p
        .indicators
        .iter()
        .filter_map(|i| ctx.observatory.indicator(i))
        .collect();
    let note = programme::note(&ctx.hub.store, &p.id, period)
        .ok()
        .flatten();
    let staff = p.staff.get(&period).copied();
    let mark = |i: &str| CellMark::of(i, Level::Department, geo::DEPARTMENT_CODE, &period);
    html! {
        h1 { "Bilan du programme — " (p.title) " — " (period) }
        p {
            strong { "Conduit par :" } " " (institution_name(ctx, p))
            @if !p.description.is_empty() { br; (p.description) }
        }
        p.note {
            "Établi le " (date(now())) ". Chiffres du département (" (geo::DEPARTMENT_NAME) "), "
            "publiés par l'observatoire ; objectifs fixés dans la convention du programme. "
            "« < seuil » : chiffre trop petit pour être publié (secret statistique), "
            "il n'est donc pas comparé à son objectif."
        }
        form.choix method="get" action={ "/partenaires/programme/" (p.id) } {
            label for="periode" { "Période " }
            select #periode name="periode" {
                @for x in periods.iter().rev() {
                    option value=(x) selected[*x == period] { (x) }
                }
            }
            " " button type="submit" { "Afficher" }
        }
        p { button type="button" #imprimer { "Imprimer ou enregistrer en PDF" } }
        h2 { "Chiffres et objectifs" }
        table #chiffres {
            thead {
                tr {
                    th scope="col" { "Indicateur" }
                    th scope="col" class="n" { "Réalisé " (period) }
                    th scope="col" class="n" { "Objectif" }
                    th scope="col" class="n" { "Atteinte" }
                    th scope="col" class="n" {
                        @match previous { Some(x) => { "Réalisé " (x) }, None => "Période précédente" }
                    }
                    th scope="col" { "Unité" }
                }
            }
            tbody {
                @for ind in &rows {
                    @let f = figure(ctx, &ind.id, period);
                    @let target = p.target(&ind.id, period);
                    @let m = mark(&ind.id);
                    tr {
                        th scope="row" {
                            (ind.title)
                            @if shared(ctx, p, &ind.id) { br; small { "(comprend d'autres partenaires)" } }
                        }
                        td.n data-indicator=(m.indicator) data-level=(m.level) data-code=(m.code) data-period=(m.period) {
                            (shown(&f, ind.decimals))
                        }
                        // Targets are declared, not published cells: no cell mark.
                        td class="n cible" { @match target { Some(t) => (number(t, ind.decimals)), None => "—" } }
                        td class="n atteinte" {
                            @match (&f, target) {
                                (Figure::Value(v), Some(t)) if t > 0.0 => { (number(v / t * 100.0, 0)) " %" },
                                _ => "—",
                            }
                        }
                        @match previous {
                            Some(x) => {
                                @let pm = CellMark::of(&ind.id, Level::Department, geo::DEPARTMENT_CODE, &x);
                                td.n data-indicator=(pm.indicator) data-level=(pm.level) data-code=(pm.code) data-period=(pm.period) {
                                    (shown(&figure(ctx, &ind.id, x), ind.decimals))
                                }
                            }
                            None => td.n { "—" },
                        }
                        td { (ind.unit) }
                    }
                }
            }
        }
        (categories(ctx, &rows, period, previous))
        @if let Some(i) = p.interventions.as_deref().and_then(|i| ctx.observatory.indicator(i)) {
            h2 { "Interventions par membre de l'équipe" }
            p #par-agent {
                @match (figure(ctx, &i.id, period), staff) {
                    (_, None) => { "Aucun effectif déclaré pour " (period) "." }
                    (Figure::Value(v), Some(n)) => {
                        @match programme::per_staff(v, Some(n)) {
                            Some(x) => {
                                @let m = mark(&i.id);
                                strong { (number(x, 1)) } " " (i.unit) " par membre de l'équipe ("
                                span data-indicator=(m.indicator) data-level=(m.level) data-code=(m.code) data-period=(m.period) {
                                    (number(v, i.decimals)) " " (i.unit)
                                }
                                " pour " (n) " personnes)."
                            }
                            None => { "Effectif déclaré nul pour " (period) "." }
                        }
                    }
                    (Figure::BelowThreshold, Some(n)) => { "< seuil (effectif : " (n) " personnes)." }
                    (Figure::Missing, Some(n)) => { "Non disponible (effectif : " (n) " personnes)." }
                }
            }
        }
        h2 { "Bilan rédigé par le partenaire" }
        div #bilan-ecrit {
            @match &note {
                Some(n) => {
                    @for para in n.text.split("\n\n").filter(|x| !x.trim().is_empty()) {
                        p { @for (k, line) in para.lines().enumerate() { @if k > 0 { br; } (line) } }
                    }
                    p.note { "Rédigé par " (n.author) ", le " (date(n.at)) "." }
                }
                None => p { "Le partenaire n'a pas encore rédigé le bilan de cette période." },
            }
        }
        @if let Some(csrf) = csrf {
            form.choix method="post" action={ "/partenaires/programme/" (p.id) } {
                @if let Some((m, _)) = rejected { (alert(m)) }
                (csrf_field(csrf))
                input type="hidden" name="periode" value=(period);
                p {
                    label for="texte" { "Bilan de la période (faits marquants, difficultés, perspectives ; "
                        (NOTE_MAX_CHARS) " caractères au plus)" }
                    br;
                    textarea #texte name="texte" rows="12" cols="80" maxlength=(NOTE_MAX_CHARS) {
                        @match rejected {
                            Some((_, t)) => (t),
                            None => (note.as_ref().map(|n| n.text.as_str()).unwrap_or_default()),
                        }
                    }
                }
                p { button type="submit" { "Enregistrer le bilan" } }
            }
        }
        script src="/static/imprimer.js" {}
    }
}
