//! The public pages: home, themes, a dashboard per theme, a sheet per
//! indicator. Values come from the stored results; no page load waits on
//! the network of nodes. Only released values are shown.

use std::{collections::BTreeMap, fmt::Write as _};

use passerelle_protocol::{
    geo::{self, Level},
    period::Period,
};

use super::{
    chart::{self, Bar, Series},
    layout::{date, esc, number, page},
    map::{self, MapValue},
};
use passerelle_observatory::{
    catalog::{theme_label, Indicator, THEMES},
    compose::{ResultCell, Status},
    IndicatorResult,
};

use crate::state::Ctx;

fn latest_period(r: &IndicatorResult) -> Option<Period> {
    r.cells.iter().map(|c| c.period).max()
}

fn cell<'a>(
    r: &'a IndicatorResult,
    level: Level,
    code: &str,
    period: &Period,
) -> Option<&'a ResultCell> {
    r.cells
        .iter()
        .find(|c| c.level == level && c.code == code && &c.period == period)
}

fn value_text(c: Option<&ResultCell>, ind: &Indicator) -> String {
    match c {
        Some(ResultCell { value: Some(v), .. }) => {
            format!("{} {}", number(*v, ind.decimals), esc(&ind.unit))
        }
        Some(ResultCell {
            status: Status::Suppressed,
            ..
        }) => "<span class=\"secret\">secret statistique</span>".into(),
        _ => "non disponible".into(),
    }
}

/// The home page.
pub fn home(ctx: &Ctx) -> String {
    let mut body = String::from(
        "<h1>Observatoire social et médico-social de Mayotte</h1>\
<p>Les partenaires de l'action sociale gardent leurs données chez eux. Passerelle rassemble leurs chiffres \
pour chaque commune, intercommunalité et pour le département, sans jamais publier d'information sur une personne.</p>\
<h2>Thèmes</h2><ul class=\"grille\">",
    );
    for (id, label) in THEMES {
        let inds: Vec<&Indicator> = ctx.catalog().iter().filter(|i| i.theme == *id).collect();
        let headline = inds.iter().find_map(|i| {
            let r = ctx.latest(&i.id)?;
            let p = latest_period(&r)?;
            let c = cell(&r, Level::Department, geo::DEPARTMENT_CODE, &p)?;
            c.value.map(|_| {
                format!(
                    "<p class=\"note\">{} ({p}) :</p><p class=\"chiffre\">{}</p>",
                    esc(&i.title),
                    value_text(Some(c), i)
                )
            })
        });
        let _ = write!(
            body,
            "<li class=\"carte\"><h3><a href=\"/theme/{id}\">{}</a></h3>{}<p class=\"note\">{} indicateur(s)</p></li>",
            esc(label),
            headline.unwrap_or_default(),
            inds.len()
        );
    }
    let connected = ctx.registry.connected().len();
    let enrolled = ctx
        .hub
        .store
        .nodes()
        .map(|n| n.iter().filter(|n| n.revoked_at.is_none()).count())
        .unwrap_or(0);
    let _ = write!(
        body,
        "</ul><h2>Réseau des partenaires</h2><p>{connected} partenaire(s) connecté(s) sur {enrolled} inscrit(s).</p>"
    );
    page(ctx, "Accueil", maud::PreEscaped(body.to_string()))
}

/// The list of themes and their indicators.
pub fn themes(ctx: &Ctx) -> String {
    let mut body = String::from("<h1>Thèmes et indicateurs</h1>");
    for (id, label) in THEMES {
        let _ = write!(
            body,
            "<h2><a href=\"/theme/{id}\">{}</a></h2><ul>",
            esc(label)
        );
        for i in ctx.catalog().iter().filter(|i| i.theme == *id) {
            let _ = write!(
                body,
                "<li><a href=\"/indicateur/{}\">{}</a></li>",
                esc(&i.id),
                esc(&i.title)
            );
        }
        body.push_str("</ul>");
    }
    page(ctx, "Thèmes", maud::PreEscaped(body.to_string()))
}

/// A theme's dashboard: every indicator's latest department value, and the
/// map of the first one.
pub fn theme(ctx: &Ctx, id: &str) -> Option<String> {
    let (_, label) = THEMES.iter().find(|(t, _)| *t == id)?;
    let inds: Vec<&Indicator> = ctx.catalog().iter().filter(|i| i.theme == id).collect();
    let mut body = format!("<h1>{}</h1><ul class=\"grille\">", esc(label));
    let mut first_map = None;
    for i in &inds {
        let r = ctx.latest(&i.id);
        let (text, when) = match r.as_ref().and_then(|r| Some((r, latest_period(r)?))) {
            Some((r, p)) => {
                if first_map.is_none() && i.formula.datasets().len() == 1 {
                    first_map = Some(((*i).clone(), r.clone(), p));
                }
                (
                    value_text(cell(r, Level::Department, geo::DEPARTMENT_CODE, &p), i),
                    format!("Mayotte, {p}"),
                )
            }
            None => ("non disponible".into(), "pas encore calculé".into()),
        };
        let _ = write!(
            body,
            "<li class=\"carte\"><h2><a href=\"/indicateur/{}\">{}</a></h2><p class=\"chiffre\">{text}</p><p class=\"note\">{}</p></li>",
            esc(&i.id),
            esc(&i.title),
            esc(&when)
        );
    }
    body.push_str("</ul>");
    if let Some((ind, r, p)) = first_map {
        let _ = write!(body, "<h2>Carte : {} ({p})</h2>", esc(&ind.title));
        body.push_str(&map_svg(ctx, &ind, &r, Level::Commune, &p));
        let _ = write!(
            body,
            "<p><a href=\"/indicateur/{}\">Voir la fiche, le tableau et l'évolution</a></p>",
            esc(&ind.id)
        );
    }
    Some(page(ctx, label, maud::PreEscaped(body.to_string())))
}

fn map_svg(ctx: &Ctx, ind: &Indicator, r: &IndicatorResult, level: Level, p: &Period) -> String {
    let values: Vec<MapValue> = r
        .cells
        .iter()
        .filter(|c| c.level == level && &c.period == p)
        .map(|c| MapValue {
            code: c.code.clone(),
            value: c.value,
            status: c.status,
        })
        .collect();
    map::choropleth(
        &ctx.geometry,
        level,
        &values,
        &ind.unit,
        ind.decimals,
        &format!("{} par {}, {p}", ind.title, level.label_fr()),
    )
}

/// What the sheet shows.
pub struct SheetQuery {
    /// Level of the map and table.
    pub level: Level,
    /// Period, or the latest.
    pub period: Option<Period>,
}

/// An indicator's sheet.
pub fn sheet(ctx: &Ctx, id: &str, q: &SheetQuery) -> Option<String> {
    let ind = ctx.catalog().iter().find(|i| i.id == id)?;
    let r = ctx.latest(id);
    let mut body = format!(
        "<p class=\"note\"><a href=\"/theme/{}\">{}</a></p><h1>{}</h1><p>{}</p>",
        esc(&ind.theme),
        esc(theme_label(&ind.theme)),
        esc(&ind.title),
        esc(&ind.definition)
    );
    let _ = write!(
        body,
        "<table><caption>Fiche</caption><tr><th scope=\"row\">Unité</th><td>{}</td></tr>\
<tr><th scope=\"row\">Sources</th><td>{}</td></tr><tr><th scope=\"row\">Mise à jour</th><td>{}</td></tr>\
<tr><th scope=\"row\">Calcul</th><td>{}</td></tr>",
        esc(&ind.unit),
        esc(&ind.sources.join(", ")),
        esc(&ind.frequency),
        esc(&ind.formula.describe_fr())
    );
    let Some(r) = r else {
        body.push_str("</table><p>Cet indicateur n'a pas encore été calculé.</p>");
        return Some(page(ctx, &ind.title, maud::PreEscaped(body.to_string())));
    };
    let periods: Vec<Period> = {
        let mut p: Vec<Period> = r.cells.iter().map(|c| c.period).collect();
        p.sort();
        p.dedup();
        p
    };
    let period = q
        .period
        .filter(|p| periods.contains(p))
        .or_else(|| periods.last().copied())?;
    let cov = &r.coverage;
    let partners: Vec<String> = {
        let mut n: Vec<String> = cov.answered.iter().map(|a| a.name.clone()).collect();
        n.sort();
        n.dedup();
        n
    };
    let _ = write!(
        body,
        "<tr><th scope=\"row\">Dernier calcul</th><td>{}</td></tr><tr><th scope=\"row\">Partenaires ayant répondu</th><td>{}</td></tr></table>",
        date(r.computed_at),
        if partners.is_empty() { "aucun".to_string() } else { esc(&partners.join(", ")) }
    );
    if !cov.complete() {
        let missing: Vec<String> = cov
            .failed
            .iter()
            .map(|f| {
                if f.name == "-" {
                    format!("jeu « {} » : aucun partenaire", f.dataset)
                } else {
                    f.name.clone()
                }
            })
            .collect();
        let _ = write!(
            body,
            "<p class=\"demo\" role=\"note\"><strong>Résultat partiel :</strong> des partenaires n'ont pas répondu au dernier calcul ({}). Les chiffres peuvent être incomplets.</p>",
            esc(&missing.join(", "))
        );
    }
    body.push_str(
        "<h2>Pourquoi certains chiffres sont masqués</h2><p>Pour qu'on ne puisse reconnaître personne, un chiffre qui concerne \
moins de 11 personnes n'est jamais publié. D'autres chiffres sont aussi masqués quand on pourrait retrouver le chiffre caché \
par une soustraction (par exemple le total d'une intercommunalité moins ses autres communes). Ces cases sont hachurées sur la \
carte et marquées « secret statistique » dans le tableau.</p>",
    );
    // Level and period switches (links: no JavaScript).
    let link = |level: Level, p: &Period| {
        format!(
            "/indicateur/{}?niveau={}&periode={p}",
            esc(&ind.id),
            level.as_str()
        )
    };
    body.push_str("<nav class=\"choix\" aria-label=\"Niveau géographique\">");
    for level in [Level::Commune, Level::Epci] {
        let cur = if level == q.level {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            body,
            "<a href=\"{}\"{cur}>Par {}</a>",
            link(level, &period),
            level.label_fr()
        );
    }
    body.push_str("</nav><nav class=\"choix\" aria-label=\"Période\">");
    for p in &periods {
        let cur = if *p == period {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(body, "<a href=\"{}\"{cur}>{p}</a>", link(q.level, p));
    }
    body.push_str("</nav>");
    let _ = write!(body, "<h2>Carte par {} — {period}</h2>", q.level.label_fr());
    body.push_str(&map_svg(ctx, ind, &r, q.level, &period));

    // Evolution: department and EPCI.
    if periods.len() > 1 {
        let mut series = vec![Series {
            name: geo::DEPARTMENT_NAME.into(),
            values: periods
                .iter()
                .map(|p| cell(&r, Level::Department, geo::DEPARTMENT_CODE, p).and_then(|c| c.value))
                .collect(),
        }];
        for e in &geo::EPCIS {
            series.push(Series {
                name: e.name.into(),
                values: periods
                    .iter()
                    .map(|p| cell(&r, Level::Epci, e.siren, p).and_then(|c| c.value))
                    .collect(),
            });
        }
        let labels: Vec<String> = periods.iter().map(ToString::to_string).collect();
        body.push_str("<h2>Évolution</h2>");
        body.push_str(&chart::lines(
            &format!("Évolution : {}", ind.title),
            &labels,
            &series,
            &ind.unit,
            ind.decimals,
        ));
        // The same values as a table, for screen readers and for copying.
        let _ = write!(
            body,
            "<table><caption>Évolution : {} ({})</caption><thead><tr><th scope=\"col\">Territoire</th>",
            esc(&ind.title),
            esc(&ind.unit)
        );
        for l in &labels {
            let _ = write!(body, "<th scope=\"col\" class=\"n\">{}</th>", esc(l));
        }
        body.push_str("</tr></thead><tbody>");
        for ser in &series {
            let _ = write!(body, "<tr><th scope=\"row\">{}</th>", esc(&ser.name));
            for v in &ser.values {
                let text = v
                    .map(|v| number(v, ind.decimals))
                    .unwrap_or_else(|| "—".into());
                let _ = write!(body, "<td class=\"n\">{text}</td>");
            }
            body.push_str("</tr>");
        }
        body.push_str("</tbody></table>");
    }
    // Table (and bars) at the chosen level.
    let rows: BTreeMap<String, &ResultCell> = r
        .cells
        .iter()
        .filter(|c| c.level == q.level && c.period == period)
        .map(|c| (c.code.clone(), c))
        .collect();
    let bars: Vec<Bar> = rows
        .iter()
        .map(|(code, c)| Bar {
            name: geo::name(q.level, code).unwrap_or(code).to_string(),
            value: c.value,
            absent: if c.status == Status::Suppressed {
                "secret statistique"
            } else {
                "non disponible"
            },
        })
        .collect();
    body.push_str(&chart::bars(
        &format!("{} par {}, {period}", ind.title, q.level.label_fr()),
        &bars,
        &ind.unit,
        ind.decimals,
    ));
    let _ = write!(
        body,
        "<table><caption>{} par {} — {period}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">Code</th><th scope=\"col\" class=\"n\">Valeur ({})</th></tr></thead><tbody>",
        esc(&ind.title),
        q.level.label_fr(),
        if q.level == Level::Commune { "Commune" } else { "Intercommunalité" },
        esc(&ind.unit)
    );
    for (code, c) in &rows {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(geo::name(q.level, code).unwrap_or(code)),
            esc(code),
            value_text(Some(c), ind)
        );
    }
    let dept = cell(&r, Level::Department, geo::DEPARTMENT_CODE, &period);
    let _ = write!(body, "<tr><th scope=\"row\">Mayotte</th><td>976</td><td class=\"n\">{}</td></tr></tbody></table>", value_text(dept, ind));
    if q.level == Level::Epci && geo::EPCIS.iter().any(|e| !e.siren_confirmed) {
        body.push_str("<p class=\"note\">Codes SIREN de la CC du Centre-Ouest et de la CA de Dembéni-Mamoudzou : non encore vérifiés.</p>");
    }
    let _ = write!(
        body,
        "<h2>Télécharger</h2><p><a href=\"/donnees/{id}.csv?niveau={lvl}\">CSV ({lvl})</a> · <a href=\"/donnees/{id}.json?niveau={lvl}\">JSON ({lvl})</a> · \
<a href=\"/donnees/{id}.csv\">CSV (tous niveaux)</a></p>",
        id = esc(&ind.id),
        lvl = q.level.as_str()
    );
    Some(page(ctx, &ind.title, maud::PreEscaped(body.to_string())))
}

/// The open data page.
pub fn open_data(ctx: &Ctx) -> String {
    let mut body = String::from(
        "<h1>Données ouvertes</h1><p>Chaque indicateur se télécharge en CSV ou en JSON, pour chaque niveau. \
Une API JSON est décrite par son <a href=\"/api/openapi.json\">document OpenAPI</a>. Les chiffres masqués y figurent sans valeur.</p><ul>",
    );
    for i in ctx.catalog() {
        let _ = write!(
            body,
            "<li>{t} : <a href=\"/donnees/{id}.csv\">CSV</a> · <a href=\"/donnees/{id}.json\">JSON</a></li>",
            t = esc(&i.title),
            id = esc(&i.id)
        );
    }
    body.push_str("</ul>");
    page(ctx, "Données ouvertes", maud::PreEscaped(body.to_string()))
}
