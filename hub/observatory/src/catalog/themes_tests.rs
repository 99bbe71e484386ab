//! Themes declared in catalog files, audiences and references.

use super::*;

const POVERTY: &str = r#"[[theme]]
id = "pauvrete"
name = "Pauvreté et précarité"
description = "Revenus, minima sociaux."
order = 15
"#;

fn entry(id: &str, theme: &str, extra: &str) -> String {
    format!(
        "[[indicator]]\nid = \"{id}\"\ntitle = \"T\"\ntheme = \"{theme}\"\nunit = \"u\"\n\
         definition = \"d\"\nsources = [\"s\"]\nfrequency = \"f\"\nformula = \"sum\"\n\
         numerator = [\"rsa\"]\n{extra}"
    )
}

#[test]
fn shipped_themes_stay_the_default_in_their_order() {
    let c = load_catalog(None).unwrap();
    let ids: Vec<&str> = c.themes.iter().map(|t| t.id.as_str()).collect();
    let shipped: Vec<&str> = THEMES.iter().map(|(t, _)| *t).collect();
    assert_eq!(ids, shipped);
    assert!(c.indicators.iter().all(|i| i.audience == Audience::Public));
}

#[test]
fn a_theme_declared_in_its_own_file_is_usable_by_any_file_and_ordered() {
    let dir = tempfile::tempdir().unwrap();
    // The indicator's file sorts before the theme's: checked once all are read.
    std::fs::write(
        dir.path().join("a-indicateurs.toml"),
        entry("x", "pauvrete", ""),
    )
    .unwrap();
    std::fs::write(dir.path().join("themes.toml"), POVERTY).unwrap();
    let c = load_catalog(Some(dir.path())).unwrap();
    let ids: Vec<&str> = c.themes.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        &ids[..3],
        ["demographie", "pauvrete", "logement-hebergement"]
    );
    let t = c.themes.iter().find(|t| t.id == "pauvrete").unwrap();
    assert_eq!(t.name, "Pauvreté et précarité");
    assert_eq!(t.description, "Revenus, minima sociaux.");
    assert_eq!(
        c.indicators.iter().find(|i| i.id == "x").unwrap().theme,
        "pauvrete"
    );
    // Within one file too, through `parse`.
    assert!(parse(
        "mine.toml",
        &format!("{POVERTY}{}", entry("x", "pauvrete", ""))
    )
    .is_ok());
}

#[test]
fn an_undeclared_theme_or_a_bad_theme_table_is_refused_with_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("local.toml"), entry("x", "jeunesse", "")).unwrap();
    let err = load_catalog(Some(dir.path())).unwrap_err().to_string();
    assert!(
        err.contains("local.toml")
            && err.contains("indicator \"x\"")
            && err.contains("unknown theme \"jeunesse\""),
        "{err}"
    );
    for (text, why) in [
        (POVERTY.replace("pauvrete", "Pauvreté!"), "id must be"),
        (
            POVERTY.replace("Pauvreté et précarité", " "),
            "name is empty",
        ),
        (
            POVERTY.replace("order = 15", "order = 15\ncolour = 1"),
            "unknown field",
        ),
        (POVERTY.replace("order = 15\n", ""), "missing field `order`"),
        (format!("{POVERTY}{POVERTY}"), "id used twice"),
    ] {
        let err = parse("themes.toml", &text).unwrap_err().to_string();
        assert!(
            err.contains("themes.toml") && err.contains(why),
            "{why}: {err}"
        );
    }
}

#[test]
fn audience_and_reference_are_read_and_checked() {
    let c = parse(
        "mine.toml",
        &entry("x", "emploi", "audience = \"partners\"\n"),
    )
    .unwrap();
    assert_eq!(c[0].audience, Audience::Partners);
    let c = parse("mine.toml", &entry("x", "emploi", "")).unwrap();
    assert_eq!(c[0].audience, Audience::Public);
    let err = parse(
        "mine.toml",
        &entry("x", "emploi", "audience = \"everyone\"\n"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("mine.toml") && err.contains("line "), "{err}");
    let r = parse(
        "mine.toml",
        &entry(
            "x",
            "emploi",
            "reference = { value = 36.5, label = \"France\", source = \"DREES 2022\" }\n",
        ),
    )
    .unwrap();
    assert_eq!(
        r[0].reference,
        Some(Reference {
            value: 36.5,
            label: "France".into(),
            source: "DREES 2022".into()
        })
    );
    let err = parse(
        "mine.toml",
        &entry(
            "x",
            "emploi",
            "reference = { value = 1, label = \"France\", source = \"\" }\n",
        ),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("indicator \"x\"") && err.contains("reference.source is empty"),
        "{err}"
    );
}

#[test]
fn age_band_population_terms_are_read() {
    let text = entry("x", "personnes-agees", "").replace(
        "formula = \"sum\"",
        "formula = \"rate\"\nper = 1000\ndenominator = [\"ref:population:60+\"]",
    );
    let c = parse("mine.toml", &text).unwrap();
    assert_eq!(
        c[0].formula.populations(),
        vec![Some(passerelle_provenance::population::AgeBand {
            from: 60,
            to: None
        })]
    );
    let err = parse("mine.toml", &text.replace("60+", "soixante"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("denominator") && err.contains("not an age band"),
        "{err}"
    );
}
