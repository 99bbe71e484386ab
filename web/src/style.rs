//! The look both web applications share: one stylesheet, light and
//! readable on a cheap phone, the page skeleton (skip link, header, main,
//! footer) and the pieces every form or table uses. Pages are maud
//! templates: everything interpolated is escaped; the stylesheet is the
//! only text written as is.

use maud::{html, Markup, PreEscaped, DOCTYPE};

/// The stylesheet of every page, inline (the pages' Content-Security-Policy
/// allows inline styles and no inline script).
pub const CSS: &str = "\
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

/// What a page's skeleton holds around its content.
#[derive(Debug, Clone)]
pub struct Shell<'a> {
    /// The page's language (`fr`, or a vault page's language).
    pub lang: &'a str,
    /// The whole `<title>`.
    pub title: &'a str,
    /// The skip link's words ("Aller au contenu").
    pub skip: &'a str,
    /// What the site header holds (name, navigation).
    pub header: Markup,
    /// A note at the top of the content (the demonstration notice), if any.
    pub notice: Option<Markup>,
    /// What the site footer holds.
    pub footer: Markup,
}

/// A whole page: `body` in the skeleton, rendered.
pub fn document(shell: &Shell<'_>, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang=(shell.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No icon: browsers would otherwise ask for /favicon.ico.
                link rel="icon" href="data:,";
                title { (shell.title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                a.evitement href="#contenu" { (shell.skip) }
                header.site { (shell.header) }
                main #contenu tabindex="-1" {
                    @if let Some(n) = &shell.notice { (n) }
                    (body)
                }
                footer.site { (shell.footer) }
            }
        }
    }
    .into_string()
}

/// The hidden field carrying a form's CSRF token.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A message that interrupts the reader (a refused form, an error).
pub fn alert(message: &str) -> Markup {
    html! { p.demo role="alert" { (message) } }
}

/// A message that confirms what was done.
pub fn done(message: &str) -> Markup {
    html! { p.ok role="status" { (message) } }
}

/// The header row of a table whose columns all have plain text headings.
pub fn column_heads(names: &[&str]) -> Markup {
    html! { thead { tr { @for n in names { th scope="col" { (n) } } } } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_pieces_escape_what_they_are_given() {
        assert_eq!(
            alert("<b>\"x\" & y</b>").into_string(),
            "<p class=\"demo\" role=\"alert\">&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;</p>"
        );
        assert_eq!(
            csrf_field("a\"b").into_string(),
            "<input type=\"hidden\" name=\"csrf\" value=\"a&quot;b\">"
        );
    }

    #[test]
    fn the_skeleton_has_its_landmarks_and_escapes_the_title() {
        let page = document(
            &Shell {
                lang: "fr",
                title: "A & B",
                skip: "Aller au contenu",
                header: html! { "en-tête" },
                notice: None,
                footer: html! { "pied" },
            },
            html! { h1 { "Titre" } },
        );
        assert!(
            page.starts_with("<!DOCTYPE html><html lang=\"fr\">"),
            "{page}"
        );
        assert!(page.contains("<title>A &amp; B</title>"), "{page}");
        assert!(page.contains("<a class=\"evitement\" href=\"#contenu\">Aller au contenu</a>"));
        assert!(page.contains("<main id=\"contenu\" tabindex=\"-1\"><h1>Titre</h1></main>"));
        assert!(page.contains("<footer class=\"site\">pied</footer>"));
    }
}
