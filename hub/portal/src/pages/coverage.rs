//! What a result covers, in plain French: for the public, which
//! institutions are missing from a refresh (names only); for partners,
//! also why each one is missing and why the draft was not published.

use maud::{html, Markup};
use passerelle_observatory::{
    publish::{Absence, Draft, Gap, HeldBack, Share},
    IndicatorResult,
};
use passerelle_protocol::message::Refusal;

use crate::layout::{date, number};

/// Who is missing, named for anyone: the institution, or the data nobody
/// provides.
pub fn missing_name(name: &str, dataset: &str) -> String {
    if name == "-" {
        format!("« {dataset} » (aucun partenaire ne fournit ces données)")
    } else {
        name.to_string()
    }
}

/// The institutions (or datasets) a draft misses, once each, sorted.
pub fn missing_names(gaps: &[Gap]) -> Vec<String> {
    let mut n: Vec<String> = gaps
        .iter()
        .map(|g| missing_name(&g.name, &g.dataset))
        .collect();
    n.sort();
    n.dedup();
    n
}

/// Why a contribution is missing, in plain French, for partners.
pub fn absence_fr(why: &Absence) -> String {
    match why {
        Absence::NoProvider => "aucun partenaire ne fournit ces données".into(),
        Absence::NotConnected => "n'était pas connecté à la plateforme".into(),
        Absence::Dead { .. } => {
            "a cessé de répondre pendant l'actualisation (liaison coupée)".into()
        }
        Absence::TimedOut { after } => format!(
            "n'a pas répondu à temps (attente de {} secondes)",
            number(after.as_secs_f64(), 0)
        ),
        Absence::Outdated { .. } => {
            "utilise une version trop ancienne de Passerelle : une mise à jour est nécessaire"
                .into()
        }
        Absence::Refused(r) => refusal_fr(r).into(),
        Absence::UnexpectedAnswer => "a envoyé une réponse inattendue".into(),
        Absence::Failed { .. } => "l'échange a échoué (incident de liaison)".into(),
    }
}

fn refusal_fr(r: &Refusal) -> &'static str {
    match r {
        Refusal::OutOfPolicy(_) => "a refusé : la demande sort de ses règles de partage",
        Refusal::Unavailable(_) => "a refusé : ses données ne sont pas disponibles",
        Refusal::Stale { .. } => "a refusé : les horloges ne concordent pas",
        Refusal::Busy => "a refusé : trop sollicité, à réessayer",
        Refusal::UnsupportedVersion { .. } => {
            "a refusé : versions de Passerelle incompatibles, une mise à jour est nécessaire"
        }
        _ => "a refusé la demande (erreur technique)",
    }
}

/// Why a draft was not published, in plain French.
pub fn held_back_fr(h: HeldBack) -> String {
    match h {
        HeldBack::Incomplete => {
            "des contributions manquent : le résultat n'est publié que complet".into()
        }
        HeldBack::BelowMinimum { min_coverage } => format!(
            "moins de {} % des contributions attendues ont été reçues",
            number(min_coverage * 100.0, 0)
        ),
        HeldBack::TwoSided => {
            "un rapport ou un taux n'est jamais publié avec une partie incomplète".into()
        }
    }
}

/// `1 contribution reçue sur 2 attendues`.
pub fn share_fr(s: Share) -> String {
    let plural = |n: u32| if n > 1 { "s" } else { "" };
    format!(
        "{} contribution{} reçue{} sur {} attendue{}",
        s.answered,
        plural(s.answered),
        plural(s.answered),
        s.expected,
        plural(s.expected)
    )
}

/// The public note on a sheet: the published result is partial (its
/// entry allows it), or a more recent refresh was incomplete and the
/// figure shown is the last complete one.
pub fn public_note(published: Option<&IndicatorResult>, draft: Option<&Draft>) -> Markup {
    html! {
        @if let Some(r) = published.filter(|r| !r.coverage.complete()) {
            @let gaps: Vec<String> = {
                let mut n: Vec<String> = r.coverage.failed.iter().map(|f| missing_name(&f.name, &f.dataset)).collect();
                n.sort();
                n.dedup();
                n
            };
            p.demo role="note" {
                strong { "Résultat partiel :" }
                " ce résultat est publié avec une couverture partielle ("
                (share_fr(Share::of(r))) ") ; il manque les données de : " (gaps.join(", "))
                ". Les chiffres sont incomplets."
            }
        }
        @if let Some(d) = draft {
            p.demo role="note" #actualisation-incomplete {
                strong { "Actualisation incomplète :" }
                " l'actualisation du " (date(d.result.computed_at)) " n'a pas été publiée car il y manque les données de : "
                (missing_names(&d.gaps).join(", ")) ". "
                @match published {
                    Some(r) => {
                        "Les chiffres affichés restent ceux du dernier résultat complet, calculé le "
                        (date(r.computed_at)) "."
                    }
                    None => "Aucun résultat complet n'est encore disponible.",
                }
            }
        }
    }
}
