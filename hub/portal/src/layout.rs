//! The page shell shared by every portal page: French, light, readable on
//! a cheap phone, usable without JavaScript.

use maud::{html, Markup};

use crate::{
    i18n::{language_switch, Tr},
    state::Ctx,
};

pub use passerelle_hub_core::french::{date, number};
// The look, the skeleton and the form pieces are shared with the node's
// console (`passerelle-web`).
pub use passerelle_web::style::{alert, column_heads, csrf_field};

/// Which published cell a figure shows. Every element that holds a cell's
/// figure (table cell, chart mark, map area, headline) carries it as
/// `data-indicator`, `data-level`, `data-code` and `data-period`, so a
/// figure can be tied to its cell by a machine: the end-to-end test that
/// no page shows a small cell reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellMark {
    /// Indicator id.
    pub indicator: String,
    /// Level (`commune`, `epci`, `department`).
    pub level: &'static str,
    /// Unit code at that level.
    pub code: String,
    /// Period (`2025-T1`).
    pub period: String,
    /// The breakdown category (`sexe=F`), for a figure of a breakdown.
    pub category: Option<String>,
}

impl CellMark {
    /// The mark of an indicator's cell.
    pub fn of(
        indicator: &str,
        level: passerelle_protocol::geo::Level,
        code: &str,
        period: &passerelle_protocol::period::Period,
    ) -> Self {
        Self {
            indicator: indicator.to_string(),
            level: level.as_str(),
            code: code.to_string(),
            period: period.to_string(),
            category: None,
        }
    }
}

/// A whole page: the shell around `body`, rendered. Every text is
/// escaped by the template engine. The shell's words are in the
/// language of the request (French outside the vault, see
/// [`crate::i18n`]); the vault's pages also get the language switch.
pub fn page(ctx: &Ctx, title: &str, body: Markup) -> String {
    let tr = Tr::current();
    let header = html! {
        a.nom href="/" { "Passerelle" }
        " · " (tr.t("layout-sous-titre"))
        nav.site aria-label=(tr.t("layout-nav")) {
            a href="/" { (tr.t("layout-accueil")) }
            a href="/themes" { (tr.t("layout-themes")) }
            a href="/annuaire" { (tr.t("layout-annuaire")) }
            a href="/ressources" { (tr.t("layout-ressources")) }
            a href="/donnees" { (tr.t("layout-donnees")) }
            a href="/coffre" { (tr.t("layout-coffre")) }
            a href="/partenaires" { (tr.t("layout-partenaires")) }
        }
        (language_switch(&tr))
    };
    let notice = ctx.demo.then(|| {
        html! {
            p.demo role="note" {
                strong { (tr.t("layout-demo-titre")) }
                " " (tr.t("layout-demo-texte"))
            }
        }
    });
    let footer = html! {
        (tr.a("layout-pied", &[("nom", ctx.hub.config.name.as_str().into())])) " "
        a href="/confiance" { (tr.t("layout-confiance")) }
        nav.legal aria-label=(tr.t("layout-legal")) {
            a href="/mentions-legales" { (tr.t("layout-mentions")) }
            a href="/donnees-personnelles" { (tr.t("layout-donnees-personnelles")) }
            a href="/accessibilite" { (tr.t("layout-accessibilite")) }
        }
    };
    let title = format!("{title} — {}", tr.t("layout-titre-suffixe"));
    passerelle_web::style::document(
        &passerelle_web::style::Shell {
            lang: tr.lang.code(),
            title: &title,
            skip: &tr.t("layout-evitement"),
            header,
            notice,
            footer,
        },
        body,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_and_text_read_the_french_way() {
        assert_eq!(super::number(256_518.0, 0), "256\u{202f}518");
        assert_eq!(super::number(1234.5, 1), "1\u{202f}234,5");
        assert_eq!(super::number(-0.04, 1), "0,0");
        assert_eq!(super::number(-12.0, 0), "−12");
        assert_eq!(
            super::date(1_795_392_000),
            "23/11/2026 à 03:00 (heure de Mayotte)"
        );
    }
}
