//! The translation files against the code: French has every key the code
//! uses, other languages add nothing French lacks, and a missing message
//! falls back to French.

use super::*;

/// The message ids of a `.ftl` source (lines `id = …` at the start).
fn ids(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.split_once(" ="))
        .map(|(id, _)| id)
        .filter(|id| {
            id.starts_with(|c: char| c.is_ascii_lowercase())
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        .collect()
}

fn all_ids(lang: Lang) -> Vec<&'static str> {
    lang.sources().iter().flat_map(|(_, t)| ids(t)).collect()
}

#[test]
fn every_file_parses_and_no_key_is_repeated() {
    for lang in Lang::ALL {
        for (name, text) in lang.sources() {
            if let Err((_, errors)) = FluentResource::try_new((*text).to_string()) {
                panic!("{name}: {errors:?}");
            }
        }
        let mut seen = std::collections::HashSet::new();
        for id in all_ids(lang) {
            assert!(seen.insert(id), "{} repeats {id}", lang.code());
        }
    }
    assert!(
        all_ids(Lang::Fr).len() > 100,
        "French is the complete source"
    );
}

#[test]
fn other_languages_only_translate_french_keys() {
    let fr = all_ids(Lang::Fr);
    for lang in Lang::ALL {
        for id in all_ids(lang) {
            assert!(
                fr.contains(&id),
                "{} has {id}, which French lacks",
                lang.code()
            );
        }
    }
}

/// Every `.t("key")` and `.a("key", …)` in the portal's code.
fn keys_in_code() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![root];
    let mut found = Vec::new();
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        // This file names keys that are missing on purpose.
        if p.extension().is_none_or(|e| e != "rs") || p.ends_with("i18n/tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for pat in [".t(\"", ".a(\"", ".t(\n", ".a(\n"] {
            for (at, _) in text.match_indices(pat) {
                let rest = text[at + pat.len()..].trim_start_matches([' ', '\n', '"']);
                let key: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                if !key.is_empty() && rest.as_bytes().get(key.len()) == Some(&b'"') {
                    found.push((p.display().to_string(), key));
                }
            }
        }
    }
    found
}

#[test]
fn every_key_the_code_uses_is_in_french() {
    let fr = all_ids(Lang::Fr);
    let used = keys_in_code();
    assert!(
        used.len() > 100,
        "the scan finds the vault's keys: {}",
        used.len()
    );
    let missing: Vec<_> = used
        .iter()
        .filter(|(_, k)| !fr.contains(&k.as_str()))
        .collect();
    assert!(missing.is_empty(), "keys missing in French: {missing:?}");
    // Keys built at run time are listed in the code; each is in French.
    for key in crate::vault::dynamic_keys() {
        assert!(fr.contains(&key), "{key} missing in French");
    }
    for lang in Lang::ALL {
        assert!(Tr { lang }.t("langue-choix") != "langue-choix");
    }
}

#[test]
fn kinds_of_document_and_procedures_are_in_french_as_the_protocol_says() {
    use passerelle_protocol::vault::{Category, PROCEDURES};
    let fr = all_ids(Lang::Fr);
    for c in Category::ALL {
        assert!(
            fr.contains(&format!("categorie-{}", c.code()).as_str()),
            "{c:?}"
        );
        assert_eq!(Tr::FR.category(c), c.label());
    }
    for (code, label) in PROCEDURES {
        assert!(fr.contains(&format!("demarche-{code}").as_str()), "{code}");
        assert_eq!(Tr::FR.procedure(code), *label);
    }
    // A procedure the person wrote is shown as written, in any language.
    assert_eq!(
        Tr { lang: Lang::Swb }.procedure("Aide au transport"),
        "Aide au transport"
    );
}

#[test]
fn a_missing_message_falls_back_to_french() {
    // A language that has one message of two.
    let partial = build(
        "swb",
        &[("test.ftl", "coffre-retour = Retour (essai swb)\n")],
    );
    let fr = bundle(Lang::Fr);
    let both = [&partial, fr];
    assert_eq!(
        lookup_in(&both, "coffre-retour", &[]).as_deref(),
        Some("Retour (essai swb)")
    );
    assert_eq!(
        lookup_in(&both, "coffre-documents-titre", &[]),
        lookup_in(&[fr], "coffre-documents-titre", &[])
    );
    assert_eq!(
        lookup_in(&[fr], "coffre-documents-titre", &[]).as_deref(),
        Some("Mes documents")
    );
    // Arguments reach the French fallback too.
    let args = [("date", FluentValue::from("05/12/2026"))];
    assert_eq!(
        lookup_in(&both, "coffre-lien-une-fois", &args).as_deref(),
        Some("Il sert une seule fois, jusqu'au 05/12/2026.")
    );
    // Through Tr, Shimaore falls back to French wherever it has no
    // message of its own.
    let swb = Tr { lang: Lang::Swb };
    for key in all_ids(Lang::Fr) {
        if !swb.has(key) {
            assert_eq!(swb.t(key), Tr::FR.t(key), "{key}");
        }
    }
    // A key in no language shows itself (and the tests above keep that
    // from happening).
    assert_eq!(Tr::FR.t("pas-une-cle"), "pas-une-cle");
}

#[test]
fn dates_are_shown_in_mayotte_time_in_every_language() {
    // 2026-12-05 20:59 UTC is 23:59 in Mayotte.
    let end = passerelle_hub_core::french::end_of_day("2026-12-05").unwrap();
    for lang in Lang::ALL {
        let tr = Tr { lang };
        assert_eq!(tr.date(end - 60), "05/12/2026 à 23:59 (heure de Mayotte)");
        assert_eq!(tr.until(end), "05/12/2026 inclus");
        assert_eq!(tr.until(end + 60), "06/12/2026 à 00:01 (heure de Mayotte)");
    }
}

#[test]
fn french_is_the_language_outside_the_vault() {
    assert_eq!(Tr::current(), Tr::FR);
    assert_eq!(switch::current().back, None);
}
