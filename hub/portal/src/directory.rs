//! The directory of social, medico-social and insertion actors: each
//! partner node publishes its entry through the link, and the hub operator
//! adds actors that run no node (`passerelle-hub directory add`); the
//! portal lists them all alike, searchable by words and filtered by
//! commune and theme, with a map of the actors found by commune.

use maud::{html, Markup};
use passerelle_protocol::{
    directory::{theme_label, DirectoryEntry, THEMES},
    geo,
};
use serde::Deserialize;

use super::layout::{page, CellMark};
use crate::map::{self, MapValue};
use crate::state::Ctx;
use passerelle_observatory::compose::Status;

/// The filters of the directory page.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    /// Words to look for.
    #[serde(default)]
    pub q: String,
    /// A commune's INSEE code.
    #[serde(default)]
    pub commune: String,
    /// A theme id.
    #[serde(default)]
    pub theme: String,
}

fn matches(e: &DirectoryEntry, f: &Filters) -> bool {
    let words = f.q.to_lowercase();
    let text = format!("{} {} {}", e.name, e.description, e.services.join(" ")).to_lowercase();
    (words.split_whitespace().all(|w| text.contains(w)))
        && (f.commune.is_empty() || e.covers(&f.commune))
        && (f.theme.is_empty() || e.themes.iter().any(|t| t == &f.theme))
}

/// The directory page.
pub fn page_html(ctx: &Ctx, f: &Filters) -> String {
    let revoked: Vec<String> = ctx
        .hub
        .store
        .nodes()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.revoked_at.is_some())
        .map(|n| n.node_id.to_string())
        .collect();
    let mut entries: Vec<DirectoryEntry> = ctx
        .hub
        .store
        .directory()
        .unwrap_or_default()
        .into_iter()
        .filter(|(id, _)| !revoked.contains(id))
        .map(|(_, e)| e)
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let shown: Vec<&DirectoryEntry> = entries.iter().filter(|e| matches(e, f)).collect();

    let body = html! {
        h1 { "Annuaire des acteurs" }
        p { "Les structures sociales, médico-sociales et d'insertion partenaires, ce qu'elles proposent et où." }
        (search_form(f))
        p { (shown.len()) " structure(s)." }
        ul.grille { @for e in &shown { (entry(e)) } }
        (actors_map(ctx, &shown))
    };
    page(ctx, "Annuaire des acteurs", body)
}

/// How many of `shown` serve each commune (an actor of the whole
/// department serves them all), in the order of [`geo::COMMUNES`].
fn by_commune(shown: &[&DirectoryEntry]) -> Vec<(&'static geo::Commune, usize)> {
    geo::COMMUNES
        .iter()
        .map(|c| (c, shown.iter().filter(|e| e.covers(c.code)).count()))
        .collect()
}

/// The map of the actors found, by commune, and the same counts as a
/// table (the map's description points to it).
fn actors_map(ctx: &Ctx, shown: &[&DirectoryEntry]) -> Markup {
    let counts = by_commune(shown);
    let values: Vec<MapValue> = counts
        .iter()
        .map(|(c, n)| MapValue {
            code: c.code.to_string(),
            value: Some(*n as f64),
            status: Status::Released,
            mark: CellMark {
                indicator: "annuaire".into(),
                level: geo::Level::Commune.as_str(),
                code: c.code.to_string(),
                period: String::new(),
                category: None,
            },
        })
        .collect();
    html! {
        h2 { "Carte des acteurs par commune" }
        (map::choropleth(&ctx.geometry, geo::Level::Commune, &values, "acteur(s)", 0, "Acteurs trouvés par commune"))
        table {
            caption { "Acteurs trouvés par commune" }
            thead { tr { th scope="col" { "Commune" } th scope="col" { "Acteurs" } } }
            tbody {
                @for (c, n) in &counts {
                    tr { th scope="row" { (c.name) } td { (n) } }
                }
            }
        }
    }
}

/// The search form: words, commune, theme; kept filled in.
fn search_form(f: &Filters) -> Markup {
    html! {
        form method="get" action="/annuaire" class="choix" {
            p { label for="q" { "Mots" } br; input #q name="q" value=(f.q); }
            p {
                label for="commune" { "Commune" } br;
                select #commune name="commune" {
                    option value="" { "Toutes" }
                    @for c in &geo::COMMUNES {
                        option value=(c.code) selected[f.commune == c.code] { (c.name) }
                    }
                }
            }
            p {
                label for="theme" { "Thème" } br;
                select #theme name="theme" {
                    option value="" { "Tous" }
                    @for (id, label) in THEMES {
                        option value=(id) selected[f.theme == *id] { (label) }
                    }
                }
            }
            p { br; button type="submit" { "Chercher" } }
        }
    }
}

/// One actor's card: what it offers, where, when and how to reach it.
fn entry(e: &DirectoryEntry) -> Markup {
    let places = if e.communes.is_empty() {
        "tout le département".to_string()
    } else {
        e.communes
            .iter()
            .filter_map(|c| geo::name(geo::Level::Commune, c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let themes: Vec<&str> = e.themes.iter().filter_map(|t| theme_label(t)).collect();
    let web = e.website.starts_with("https://") || e.website.starts_with("http://");
    html! {
        li.carte {
            h2 { (e.name) }
            p { (e.description) }
            @if !e.services.is_empty() {
                p { strong { "Services :" } " " (e.services.join(" ; ")) }
            }
            p { strong { "Où :" } " " (places) }
            @if !themes.is_empty() { p.note { (themes.join(" · ")) } }
            @for (label, v) in [("Adresse", &e.address), ("Horaires", &e.hours), ("Téléphone", &e.phone)] {
                @if !v.is_empty() { p { strong { (label) " :" } " " (v) } }
            }
            @if !e.email.is_empty() {
                p { strong { "E-mail :" } " " a href={ "mailto:" (e.email) } { (e.email) } }
            }
            @if web { p { a href=(e.website) rel="noopener" { (e.website) } } }
        }
    }
}
