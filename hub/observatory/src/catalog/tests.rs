use super::*;

#[test]
fn shipped_catalog_covers_the_six_themes_and_activity() {
    let all = load(None).unwrap();
    assert!(all.len() >= 12 + 5, "{} indicators", all.len());
    for (theme, _) in THEMES {
        assert!(
            all.iter().any(|i| &i.theme == theme),
            "no indicator for theme {theme}"
        );
    }
    let rsa = all.iter().find(|i| i.id == "rsa-pour-1000").unwrap();
    assert_eq!(
        rsa.formula,
        Formula::Rate(
            vec![Term::Count("rsa".into())],
            vec![Term::Population],
            1000.0
        )
    );
    assert_eq!(rsa.formula.datasets(), vec!["rsa".to_string()]);
}

#[test]
fn bad_entries_are_refused_with_file_entry_and_reason() {
    let base = r#"[[indicator]]
id = "x"
title = "X"
theme = "emploi"
unit = "u"
definition = "d"
sources = ["s"]
frequency = "f"
formula = "rate"
numerator = ["rsa"]
denominator = ["ref:population"]
"#;
    let err = parse("mine.toml", base).unwrap_err().to_string();
    assert!(
        err.contains("mine.toml") && err.contains("indicator \"x\"") && err.contains("per = N"),
        "{err}"
    );
    let err = parse("mine.toml", &base.replace("emploi", "sport"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown theme \"sport\""), "{err}");
    let err = parse("mine.toml", &base.replace("\"rsa\"", "\"RSA!\""))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("numerator") && err.contains("is not a term"),
        "{err}"
    );
    let err = parse("mine.toml", &base.replace("unit = ", "units = "))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mine.toml") && err.contains("line ") && err.contains("unknown field"),
        "{err}"
    );
    let ok = parse("mine.toml", &format!("{base}per = 1000\n")).unwrap();
    assert_eq!(ok[0].formula.describe(), "(rsa) ÷ (ref:population) × 1000");
}

#[test]
fn local_files_add_and_replace_entries() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"[[indicator]]
id = "rsa"
title = "RSA (local)"
theme = "insertion-formation"
unit = "foyers"
definition = "d"
sources = ["s"]
frequency = "f"
formula = "sum"
numerator = ["rsa"]
"#;
    std::fs::write(dir.path().join("local.toml"), text).unwrap();
    let all = load(Some(dir.path())).unwrap();
    assert_eq!(all.iter().filter(|i| i.id == "rsa").count(), 1);
    assert_eq!(
        all.iter().find(|i| i.id == "rsa").unwrap().title,
        "RSA (local)"
    );
}

#[test]
fn partial_publication_is_off_unless_an_entry_allows_it_for_a_one_sided_formula() {
    let sum = r#"[[indicator]]
id = "x"
title = "X"
theme = "emploi"
unit = "u"
definition = "d"
sources = ["s"]
frequency = "f"
formula = "sum"
numerator = ["rsa"]
"#;
    assert_eq!(
        parse("mine.toml", sum).unwrap()[0].partial,
        PartialPolicy::NotAllowed
    );
    let allowed = parse(
        "mine.toml",
        &format!("{sum}partial = {{ allowed = true, min_coverage = 0.75 }}\n"),
    )
    .unwrap();
    assert_eq!(
        allowed[0].partial,
        PartialPolicy::Allowed { min_coverage: 0.75 }
    );
    for (extra, why) in [
        ("partial = { allowed = true }", "needs min_coverage"),
        (
            "partial = { allowed = true, min_coverage = 75 }",
            "needs min_coverage",
        ),
        (
            "partial = { allowed = false, min_coverage = 0.5 }",
            "has no effect",
        ),
        (
            "partial = { allowed = true, min_coverage = 0.5, max = 1 }",
            "unknown field",
        ),
    ] {
        let err = parse("mine.toml", &format!("{sum}{extra}\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{extra}: {err}");
    }
    // A ratio with a partial side is wrong, not just incomplete: refused.
    let rate = sum.replace(
        "formula = \"sum\"",
        "formula = \"rate\"\ndenominator = [\"ref:population\"]\nper = 1000",
    );
    assert!(parse("mine.toml", &rate).is_ok());
    let err = parse(
        "mine.toml",
        &format!("{rate}partial = {{ allowed = true, min_coverage = 0.5 }}\n"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("cannot be allowed for a rate") && err.contains("indicator \"x\""),
        "{err}"
    );
}

#[test]
fn decimals_default_by_formula_and_are_bounded() {
    let entry = |formula: &str, extra: &str| {
        format!(
            "[[indicator]]\nid = \"x\"\ntitle = \"X\"\ntheme = \"emploi\"\nunit = \"u\"\n\
             definition = \"d\"\nsources = [\"s\"]\nfrequency = \"f\"\nformula = \"{formula}\"\n\
             numerator = [\"rsa\"]\n{extra}"
        )
    };
    let sum = parse("mine.toml", &entry("sum", "")).unwrap();
    assert_eq!(sum[0].decimals, 0);
    let ratio = parse(
        "mine.toml",
        &entry("ratio", "denominator = [\"ref:population\"]\n"),
    )
    .unwrap();
    assert_eq!(ratio[0].decimals, 1);
    let rate = parse(
        "mine.toml",
        &entry(
            "rate",
            "denominator = [\"ref:population\"]\nper = 1000\ndecimals = 3\n",
        ),
    )
    .unwrap();
    assert_eq!(rate[0].decimals, 3);
    let err = parse("mine.toml", &entry("sum", "decimals = 9\n"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mine.toml") && err.contains("decimals = 9 is too many"),
        "{err}"
    );
    // Every shipped indicator declares what it rounds to, within bounds.
    for i in load(None).unwrap() {
        assert!(i.decimals <= MAX_DECIMALS, "{}", i.id);
    }
}

#[test]
fn round_keeps_the_declared_decimals_only() {
    assert_eq!(round(2.0 / 3.0, 2), 0.67);
    assert_eq!(round(1000.0 / 7.0, 1), 142.9);
    assert_eq!(round(-2.345_678, 3), -2.346);
    assert_eq!(round(12.5, 0), 13.0);
    assert_eq!(round(-0.04, 1).to_string(), "0");
    assert_eq!(round(1.0 / 3.0, 200), 0.3333);
}
