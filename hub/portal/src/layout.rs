//! The page shell shared by every portal page: French, light, readable on
//! a cheap phone, usable without JavaScript.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::{
    i18n::{language_switch, Tr},
    state::Ctx,
};

pub use passerelle_hub_core::french::{date, number};

const CSS: &str = "\
.evitement{position:absolute;left:-999px;top:0;background:#fff;color:#0b4f8a;padding:.5rem 1rem;z-index:10}.evitement:focus{left:0}\
nav.legal{display:flex;flex-wrap:wrap;gap:.3rem 1rem;margin-top:.4rem}\
:focus-visible,input[type=date]:focus-within{outline:3px solid #1b1b1b;outline-offset:0;box-shadow:0 0 0 6px #ffbf47}main:focus-visible{box-shadow:none;outline:none}nav.langues{display:flex;flex-wrap:wrap;gap:.2rem .8rem;margin-top:.4rem}nav.langues .note{color:#fff}.ico{width:1.4em;height:1.4em;vertical-align:-.3em;margin-right:.4em;flex:none}\
*{box-sizing:border-box}body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1b1b1b;line-height:1.5;background:#fff}\
a{color:#0b4f8a}header.site{background:#0b3d6b;color:#fff;padding:.6rem 1rem}header.site a{color:#fff;text-decoration:none}\
header.site .nom{font-weight:700;font-size:1.2rem}nav.site{display:flex;flex-wrap:wrap;gap:.3rem 1rem;margin-top:.3rem}\
main{max-width:60rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem;line-height:1.25}h2{font-size:1.2rem;margin-top:2rem}\
.demo{background:#fff3cd;border:2px solid #a86b00;padding:.6rem .8rem;border-radius:.4rem;margin:0 0 1rem}\
.grille{display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));gap:.8rem;padding:0;list-style:none}\
.carte{border:1px solid #c8d3de;border-radius:.5rem;padding:.8rem}.carte h2,.carte h3{font-size:1rem;margin:0 0 .3rem}\
.chiffre{font-size:1.6rem;font-weight:700;color:#0b3d6b}.note{color:#4a4a4a;font-size:.9rem}\
table{border-collapse:collapse;width:100%;font-size:.95rem}th,td{border-bottom:1px solid #d8dee4;padding:.35rem .4rem;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:600;padding:.3rem 0}\
.choix{display:flex;flex-wrap:wrap;gap:.5rem;margin:.5rem 0}.choix a{border:1px solid #0b4f8a;border-radius:2rem;padding:.2rem .8rem;text-decoration:none}\
.choix a[aria-current]{background:#0b4f8a;color:#fff}svg{max-width:100%;height:auto}.secret{color:#6b3a00}\
footer.site{border-top:1px solid #d8dee4;margin-top:2rem;padding:1rem;color:#4a4a4a;font-size:.9rem;text-align:center}\
.gros{display:block;box-sizing:border-box;width:100%;max-width:26rem;margin:.5rem 0;padding:.9rem 1rem;font-size:1.15rem;font-weight:600;text-align:center;border:2px solid #0b4f8a;border-radius:.6rem;background:#0b4f8a;color:#fff;text-decoration:none;cursor:pointer}.gros.clair{background:#fff;color:#0b4f8a}.menu{display:flex;flex-wrap:wrap;gap:0 .6rem;margin-bottom:1rem}.menu .gros,.menu form{width:auto;flex:1 1 12rem}.docs{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));gap:.8rem}.code{font-size:2rem;font-weight:700;letter-spacing:.15rem;font-family:monospace;background:#eef3f8;padding:.6rem 1rem;border-radius:.5rem;display:inline-block}.ok{background:#e3f4e6;border:2px solid #1c6b2e;padding:.6rem .8rem;border-radius:.4rem}input,select,button{font-size:1rem;padding:.4rem;max-width:100%}@media (max-width:40rem){table{font-size:.85rem}th,td{padding:.3rem .2rem;overflow-wrap:anywhere}}@media print{header.site nav,nav.langues,.choix,#imprimer,.evitement,footer.site nav{display:none}.portrait tr,.portrait caption{break-inside:avoid}.portrait h2{break-after:avoid}.portrait a{color:#000;text-decoration:none}}";

/// The hidden field carrying a form's CSRF token.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

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

/// A message that interrupts the reader (a refused form, an error).
pub fn alert(message: &str) -> Markup {
    html! { p.demo role="alert" { (message) } }
}

/// The header row of a table whose columns all have plain text headings.
pub fn column_heads(names: &[&str]) -> Markup {
    html! { thead { tr { @for n in names { th scope="col" { (n) } } } } }
}

/// A whole page: the shell around `body`, rendered. Every text is
/// escaped by the template engine. The shell's words are in the
/// language of the request (French outside the vault, see
/// [`crate::i18n`]); the vault's pages also get the language switch.
pub fn page(ctx: &Ctx, title: &str, body: Markup) -> String {
    let tr = Tr::current();
    html! {
        (DOCTYPE)
        html lang=(tr.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No icon: browsers would otherwise ask for /favicon.ico.
                link rel="icon" href="data:,";
                title { (title) " — " (tr.t("layout-titre-suffixe")) }
                style { (PreEscaped(CSS)) }
            }
            body {
                a.evitement href="#contenu" { (tr.t("layout-evitement")) }
                header.site {
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
                }
                main #contenu tabindex="-1" {
                    @if ctx.demo {
                        p.demo role="note" {
                            strong { (tr.t("layout-demo-titre")) }
                            " " (tr.t("layout-demo-texte"))
                        }
                    }
                    (body)
                }
                footer.site {
                    (tr.a("layout-pied", &[("nom", ctx.hub.config.name.as_str().into())])) " "
                    a href="/confiance" { (tr.t("layout-confiance")) }
                    nav.legal aria-label=(tr.t("layout-legal")) {
                        a href="/mentions-legales" { (tr.t("layout-mentions")) }
                        a href="/donnees-personnelles" { (tr.t("layout-donnees-personnelles")) }
                        a href="/accessibilite" { (tr.t("layout-accessibilite")) }
                    }
                }
            }
        }
    }
    .into_string()
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

    #[test]
    fn shared_pieces_escape_what_they_are_given() {
        assert_eq!(
            super::alert("<b>\"x\" & y</b>").into_string(),
            "<p class=\"demo\" role=\"alert\">&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;</p>"
        );
        assert_eq!(
            super::csrf_field("a\"b").into_string(),
            "<input type=\"hidden\" name=\"csrf\" value=\"a&quot;b\">"
        );
    }
}
