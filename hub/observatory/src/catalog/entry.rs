//! One `[[indicator]]` entry as written in TOML, and the rules that turn it
//! into an [`Indicator`]: the first rule broken refuses the entry, naming
//! the file and the entry.

use serde::Deserialize;

use super::{
    Audience, CatalogError, Formula, Indicator, PartialPolicy, Reference, Term, Theme,
    MAX_BREAKDOWNS, MAX_DECIMALS,
};

/// An entry as written in TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Entry {
    id: String,
    title: String,
    theme: String,
    unit: String,
    definition: String,
    sources: Vec<String>,
    frequency: String,
    formula: String,
    numerator: Vec<String>,
    #[serde(default)]
    denominator: Vec<String>,
    #[serde(default)]
    per: Option<f64>,
    #[serde(default)]
    decimals: Option<u8>,
    #[serde(default)]
    partial: Option<PartialEntry>,
    #[serde(default)]
    audience: Audience,
    #[serde(default)]
    reference: Option<Reference>,
    #[serde(default)]
    by: Vec<String>,
}

/// `partial = { allowed = …, min_coverage = … }` as written in TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialEntry {
    allowed: bool,
    #[serde(default)]
    min_coverage: Option<f64>,
}

/// Checks one entry as written and turns it into an indicator.
pub(super) fn entry(file: &str, e: Entry, themes: &[Theme]) -> Result<Indicator, CatalogError> {
    let (formula, partial, decimals) = checked(&e, themes).map_err(|why| CatalogError {
        file: file.into(),
        entry: format!("indicator {:?}", e.id),
        why,
    })?;
    Ok(Indicator {
        id: e.id,
        title: e.title,
        theme: e.theme,
        unit: e.unit,
        definition: e.definition,
        sources: e.sources,
        frequency: e.frequency,
        formula,
        decimals,
        partial,
        audience: e.audience,
        reference: e.reference,
        by: e.by,
    })
}

/// The entry's rules in order; the first one broken is the reason.
fn checked(e: &Entry, themes: &[Theme]) -> Result<(Formula, PartialPolicy, u8), String> {
    check_id(&e.id)?;
    check_theme(&e.theme, themes)?;
    check_texts(e)?;
    check_reference(e.reference.as_ref())?;
    let formula = formula(e)?;
    let partial = partial(e, &formula)?;
    let decimals = decimals(e, &formula)?;
    check_by(&e.by, &formula)?;
    Ok((formula, partial, decimals))
}

/// The decimals every output rounds to: as declared, at most
/// [`MAX_DECIMALS`]; by default none for a count or a sum, one for a
/// ratio or a rate.
fn decimals(e: &Entry, formula: &Formula) -> Result<u8, String> {
    match e.decimals {
        Some(d) if d > MAX_DECIMALS => Err(format!(
            "decimals = {d} is too many: at most {MAX_DECIMALS} (more would let a reader rebuild the counts behind a ratio)"
        )),
        Some(d) => Ok(d),
        None => Ok(match formula {
            Formula::Ratio(..) | Formula::Rate(..) => 1,
            Formula::Sum(_) | Formula::Difference(..) | Formula::Territories(_) => 0,
        }),
    }
}

fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("id must be lower-case letters, digits and '-'".into());
    }
    Ok(())
}

/// The theme is one of `known` (every file's themes: a later file may
/// declare it).
fn check_theme(theme: &str, known: &[Theme]) -> Result<(), String> {
    if !known.iter().any(|t| t.id == theme) {
        let known: Vec<&str> = known.iter().map(|t| t.id.as_str()).collect();
        return Err(format!(
            "unknown theme {theme:?} (known: {}; declare it in a [[theme]] table)",
            known.join(", ")
        ));
    }
    Ok(())
}

/// An operator-supplied reference has a finite value, a label and a
/// source, of bounded length.
fn check_reference(r: Option<&Reference>) -> Result<(), String> {
    let Some(r) = r else { return Ok(()) };
    if !r.value.is_finite() {
        return Err("reference.value must be a number".into());
    }
    for (k, v) in [
        ("reference.label", &r.label),
        ("reference.source", &r.source),
    ] {
        if v.trim().is_empty() {
            return Err(format!("{k} is empty"));
        }
        if v.len() > 300 {
            return Err(format!("{k} is too long (at most 300 bytes)"));
        }
    }
    Ok(())
}

/// The texts people read are not empty, and sources are named.
fn check_texts(e: &Entry) -> Result<(), String> {
    for (k, v) in [
        ("title", &e.title),
        ("unit", &e.unit),
        ("definition", &e.definition),
        ("frequency", &e.frequency),
    ] {
        if v.trim().is_empty() {
            return Err(format!("{k} is empty"));
        }
    }
    if e.sources.is_empty() {
        return Err("sources is empty: name the institutions the figures come from".into());
    }
    Ok(())
}

/// An operand: a non-empty list of terms.
fn terms(list: &[String], what: &str) -> Result<Vec<Term>, String> {
    if list.is_empty() {
        return Err(format!("{what} is empty"));
    }
    list.iter()
        .map(|t| Term::parse(t).map_err(|why| format!("{what}: {why}")))
        .collect()
}

/// The formula, with the operands and `per` its kind takes.
fn formula(e: &Entry) -> Result<Formula, String> {
    let a = terms(&e.numerator, "numerator")?;
    let formula = match e.formula.as_str() {
        "sum" if e.denominator.is_empty() && e.per.is_none() => Formula::Sum(a),
        "sum" => return Err("a sum takes only a numerator".into()),
        "territories" if e.denominator.is_empty() && e.per.is_none() => Formula::Territories(a),
        "territories" => return Err("territories takes only a numerator".into()),
        "difference" => Formula::Difference(a, terms(&e.denominator, "denominator")?),
        "ratio" => Formula::Ratio(a, terms(&e.denominator, "denominator")?),
        "rate" => match e.per {
            Some(per) if per > 0.0 => Formula::Rate(a, terms(&e.denominator, "denominator")?, per),
            _ => return Err("a rate needs per = N (e.g. 1000)".into()),
        },
        other => {
            return Err(format!(
                "unknown formula {other:?} (use sum, difference, ratio, rate or territories)"
            ))
        }
    };
    Ok(formula)
}

/// The partial publication policy (see the module's "Partial
/// publication"): only for one-sided formulas, with a minimum coverage.
fn partial(e: &Entry, formula: &Formula) -> Result<PartialPolicy, String> {
    let policy = match e.partial {
        None | Some(PartialEntry { allowed: false, min_coverage: None }) => PartialPolicy::NotAllowed,
        Some(PartialEntry { allowed: false, min_coverage: Some(_) }) => {
            return Err(
                "partial.min_coverage has no effect without partial.allowed = true".into(),
            )
        }
        Some(PartialEntry { allowed: true, .. }) if formula.two_sided() => {
            return Err(format!(
                "partial publication cannot be allowed for a {}: a partial numerator or denominator makes it wrong, not just incomplete",
                e.formula
            ))
        }
        Some(PartialEntry { allowed: true, min_coverage: Some(m) }) if m > 0.0 && m <= 1.0 => {
            PartialPolicy::Allowed { min_coverage: m }
        }
        Some(PartialEntry { allowed: true, .. }) => {
            return Err(
                "partial.allowed = true needs min_coverage, the least share of expected contributions (above 0, at most 1), e.g. partial = { allowed = true, min_coverage = 0.75 }".into(),
            )
        }
    };
    Ok(policy)
}

/// The breakdowns: at most [`MAX_BREAKDOWNS`], each a dimension name as
/// nodes declare them (lower-case letters, digits, `_`, at most 40
/// bytes), none twice; only for formulas over datasets alone (a
/// population is not broken down, so a rate per inhabitant by sex would
/// divide one sex by everyone) and not for `territories`.
fn check_by(by: &[String], formula: &Formula) -> Result<(), String> {
    if by.is_empty() {
        return Ok(());
    }
    if by.len() > MAX_BREAKDOWNS {
        return Err(format!(
            "by lists {} breakdowns: at most {MAX_BREAKDOWNS}",
            by.len()
        ));
    }
    for (i, d) in by.iter().enumerate() {
        if d.is_empty()
            || d.len() > 40
            || !d
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(format!(
                "by: {d:?} is not a dimension name (lower-case letters, digits and '_', at most 40 bytes, e.g. \"sexe\")"
            ));
        }
        if by[..i].contains(d) {
            return Err(format!("by: {d:?} is listed twice"));
        }
    }
    if matches!(formula, Formula::Territories(_)) {
        return Err("by: a territories count cannot be broken down".into());
    }
    if formula
        .terms()
        .iter()
        .any(|t| matches!(t, Term::Population | Term::PopulationAged(_)))
    {
        return Err(
            "by: a formula over a population cannot be broken down (populations are not broken down by the nodes' dimensions)".into(),
        );
    }
    Ok(())
}
