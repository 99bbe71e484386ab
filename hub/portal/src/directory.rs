//! The directory of social, medico-social and insertion actors: each
//! partner node publishes its entry through the link; the portal lists
//! them, searchable by words and filtered by commune and theme.

use std::fmt::Write as _;

use passerelle_protocol::{
    directory::{theme_label, DirectoryEntry, THEMES},
    geo,
};
use serde::Deserialize;

use super::layout::{esc, page};
use crate::state::Ctx;

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

    let mut body = String::from(
        "<h1>Annuaire des acteurs</h1><p>Les structures sociales, médico-sociales et d'insertion partenaires, \
ce qu'elles proposent et où.</p><form method=\"get\" action=\"/annuaire\" class=\"choix\">",
    );
    let _ = write!(
        body,
        "<p><label for=\"q\">Mots</label><br><input id=\"q\" name=\"q\" value=\"{}\"></p>",
        esc(&f.q)
    );
    body.push_str("<p><label for=\"commune\">Commune</label><br><select id=\"commune\" name=\"commune\"><option value=\"\">Toutes</option>");
    for c in &geo::COMMUNES {
        let sel = if f.commune == c.code { " selected" } else { "" };
        let _ = write!(
            body,
            "<option value=\"{}\"{sel}>{}</option>",
            c.code,
            esc(c.name)
        );
    }
    body.push_str("</select></p><p><label for=\"theme\">Thème</label><br><select id=\"theme\" name=\"theme\"><option value=\"\">Tous</option>");
    for (id, label) in THEMES {
        let sel = if f.theme == *id { " selected" } else { "" };
        let _ = write!(body, "<option value=\"{id}\"{sel}>{}</option>", esc(label));
    }
    let _ = write!(body, "</select></p><p><br><button type=\"submit\">Chercher</button></p></form><p>{} structure(s).</p><ul class=\"grille\">", shown.len());
    for e in shown {
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
        let _ = write!(
            body,
            "<li class=\"carte\"><h2>{}</h2><p>{}</p>",
            esc(&e.name),
            esc(&e.description)
        );
        if !e.services.is_empty() {
            let _ = write!(
                body,
                "<p><strong>Services :</strong> {}</p>",
                esc(&e.services.join(" ; "))
            );
        }
        let _ = write!(body, "<p><strong>Où :</strong> {}</p>", esc(&places));
        if !themes.is_empty() {
            let _ = write!(body, "<p class=\"note\">{}</p>", esc(&themes.join(" · ")));
        }
        for (label, v) in [
            ("Adresse", &e.address),
            ("Horaires", &e.hours),
            ("Téléphone", &e.phone),
        ] {
            if !v.is_empty() {
                let _ = write!(body, "<p><strong>{label} :</strong> {}</p>", esc(v));
            }
        }
        if !e.email.is_empty() {
            let _ = write!(
                body,
                "<p><strong>E-mail :</strong> <a href=\"mailto:{0}\">{0}</a></p>",
                esc(&e.email)
            );
        }
        if e.website.starts_with("https://") || e.website.starts_with("http://") {
            let _ = write!(
                body,
                "<p><a href=\"{0}\" rel=\"noopener\">{0}</a></p>",
                esc(&e.website)
            );
        }
        body.push_str("</li>");
    }
    body.push_str("</ul>");
    page(
        ctx,
        "Annuaire des acteurs",
        maud::PreEscaped(body.to_string()),
    )
}
