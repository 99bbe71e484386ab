//! Reference populations: reading INSEE files, and rates divided by the
//! population of their own year and age band.

use passerelle_protocol::{
    aggregate::{AggregateAnswer, AggregateQuery, AnswerCell, AppliedRule, CellValue, Measure},
    geo::{self, Level},
    period::Period,
};
use passerelle_provenance::{
    compose::{compose, compose_with, ResultCell, Status},
    formula::{Formula, Term},
};

use super::*;

/// Per sex, 1 person of each age under 60 and 2 of each age from 60, times
/// `scale`: a commune has 2 × (60 + 41 × 2) × scale = 284 × scale people,
/// 164 × scale of them aged 60 or more.
fn insee_rows(years: &[(u16, f64)], with_year: bool) -> String {
    let mut out = String::from(if with_year {
        "NIVGEO;CODGEO;LIBGEO;SEXE;AGED100;NB;ANNEE\n"
    } else {
        "NIVGEO;CODGEO;LIBGEO;SEXE;AGED100;NB\n"
    });
    for (year, scale) in years {
        for c in geo::COMMUNES.iter() {
            for sex in [1, 2] {
                for age in 0..=100 {
                    let n = if age < 60 { 1.0 } else { 2.0 } * scale;
                    out.push_str(&format!("COM;{};{};{sex};{age};{n}", c.code, c.name));
                    if with_year {
                        out.push_str(&format!(";{year}"));
                    }
                    out.push('\n');
                }
            }
        }
    }
    out
}

fn answer(values: &[(u16, f64)]) -> AggregateAnswer {
    AggregateAnswer {
        query: AggregateQuery {
            dataset: "apa".into(),
            measure: Measure::Count,
            periods: vec![],
            by: None,
        },
        categories: vec![],
        rule: AppliedRule {
            min_count: 11,
            dominance: None,
            rounding: None,
        },
        data_as_of: None,
        cells: values
            .iter()
            .map(|(y, v)| AnswerCell {
                level: Level::Commune,
                code: "97611".into(),
                period: Period::Year(*y),
                category: None,
                value: CellValue::Released(*v),
            })
            .collect(),
    }
}

fn at<'a>(cells: &'a [ResultCell], level: Level, code: &str, year: u16) -> &'a ResultCell {
    cells
        .iter()
        .find(|c| c.level == level && c.code == code && c.period == Period::Year(year))
        .unwrap()
}

fn answers(values: &[(u16, f64)]) -> Answers {
    let mut a = Answers::new();
    a.insert(("apa".into(), Measure::Count), vec![answer(values)]);
    a
}

#[test]
fn a_rate_divides_by_the_population_of_its_own_year_and_age_band() {
    let pops = insee::parse(
        "pop.csv",
        insee_rows(&[(2018, 1.0), (2021, 3.0)], true).as_bytes(),
        None,
    )
    .unwrap();
    assert_eq!(pops.years(), vec![2018, 2021]);
    let sixty = AgeBand::parse("60+").unwrap();
    // APA per 1,000 people aged 60 or more.
    let apa = Formula::Rate(
        vec![Term::Count("apa".into())],
        vec![Term::PopulationAged(sixty)],
        1000.0,
    );
    let a = answers(&[(2016, 41.0), (2019, 41.0), (2022, 41.0)]);
    let den = pops.denominators(&apa, &a);
    let cells = compose_with(&apa, 1, &a, &den);
    // 2019: the 2018 figures (164 aged 60+); 2022: the 2021 ones (492).
    assert_eq!(at(&cells, Level::Commune, "97611", 2019).value, Some(250.0));
    assert_eq!(at(&cells, Level::Commune, "97611", 2022).value, Some(83.3));
    // Before every year of the file there is no age band figure.
    assert_eq!(
        at(&cells, Level::Commune, "97611", 2016).status,
        Status::Missing
    );
    // The result says which years its denominators come from.
    assert_eq!(den.source_years(), vec![2018, 2021]);
    assert_eq!(
        den.value(2022, Some(sixty), Level::Department, "976"),
        Some(492 * 17)
    );
    assert_eq!(
        den.value(2019, Some(sixty), Level::Epci, geo::EPCIS[4].siren),
        Some(164 * 2)
    );

    // All ages: the year's figures too, and the built-in 2017 ones before.
    let all = Formula::Rate(
        vec![Term::Count("apa".into())],
        vec![Term::Population],
        1000.0,
    );
    let den = pops.denominators(&all, &a);
    let cells = compose_with(&all, 2, &a, &den);
    assert_eq!(
        at(&cells, Level::Commune, "97611", 2019).value,
        Some(round(41.0 / 284.0 * 1000.0))
    );
    assert_eq!(
        at(&cells, Level::Commune, "97611", 2022).value,
        Some(round(41.0 / 852.0 * 1000.0))
    );
    let mamoudzou = geo::population_2017(Level::Commune, "97611").unwrap() as f64;
    assert_eq!(
        at(&cells, Level::Commune, "97611", 2016).value,
        Some(round(41.0 / mamoudzou * 1000.0))
    );
}

fn round(x: f64) -> f64 {
    passerelle_provenance::formula::round(x, 2)
}

#[test]
fn without_a_file_the_built_in_2017_figures_hold() {
    let none = Populations::default();
    let all = Formula::Rate(
        vec![Term::Count("apa".into())],
        vec![Term::Population],
        1000.0,
    );
    let a = answers(&[(2022, 41.0)]);
    let den = none.denominators(&all, &a);
    assert!(den.is_empty());
    assert_eq!(compose_with(&all, 1, &a, &den), compose(&all, 1, &a));
    let mamoudzou = geo::population_2017(Level::Commune, "97611").unwrap() as f64;
    let cells = compose(&all, 1, &a);
    assert_eq!(
        at(&cells, Level::Commune, "97611", 2022).value,
        Some(passerelle_provenance::formula::round(
            41.0 / mamoudzou * 1000.0,
            1
        ))
    );
    // The population alone: the 2017 reference year, 256,518 people.
    let pop = Formula::Sum(vec![Term::Population]);
    let cells = compose_with(
        &pop,
        0,
        &Answers::new(),
        &none.denominators(&pop, &Answers::new()),
    );
    assert_eq!(
        at(&cells, Level::Department, "976", 2017).value,
        Some(256_518.0)
    );
    // With a file, the population alone is given for each of its years.
    let pops = insee::parse(
        "p.csv",
        insee_rows(&[(2021, 1.0)], false).as_bytes(),
        Some(2021),
    )
    .unwrap();
    let den = pops.denominators(&pop, &Answers::new());
    let cells = compose_with(&pop, 0, &Answers::new(), &den);
    assert_eq!(
        cells
            .iter()
            .filter(|c| c.level == Level::Department)
            .count(),
        1
    );
    assert_eq!(
        at(&cells, Level::Department, "976", 2021).value,
        Some(284.0 * 17.0)
    );
}

#[test]
fn the_hub_copy_reads_back_the_same_figures_and_other_communes_are_skipped() {
    let mut text = insee_rows(&[(2021, 1.5)], true);
    text.push_str("COM;75056;Paris;1;30;12000.5;2021\n");
    let pops = insee::parse("p.csv", text.as_bytes(), None).unwrap();
    let again = insee::parse("copy.csv", insee::write(&pops).as_bytes(), None).unwrap();
    assert_eq!(again, pops);
    assert_eq!(
        pops.value(2021, None, Level::Department, "976"),
        Some(284 * 3 / 2 * 17)
    );
}

#[test]
fn a_malformed_file_is_refused_whole_with_file_line_and_column() {
    let good = insee_rows(&[(2021, 1.0)], true);
    let mut lines: Vec<String> = good.lines().map(String::from).collect();
    // Line 5 (the fourth row): a bad count. "COM;97601;Acoua;1;3;" is 20
    // characters, so NB starts at column 21.
    assert!(lines[4].starts_with("COM;97601;Acoua;1;3;"), "{}", lines[4]);
    lines[4] = "COM;97601;Acoua;1;3;beaucoup;2021".into();
    let err = insee::parse("pop.csv", lines.join("\n").as_bytes(), None).unwrap_err();
    assert_eq!(
        (err.file.as_str(), err.line, err.column),
        ("pop.csv", 5, 21),
        "{err}"
    );
    assert!(err.why.contains("NB \"beaucoup\""), "{err}");
    assert!(
        err.to_string().contains("pop.csv, line 5, column 21"),
        "{err}"
    );

    let cases: Vec<(String, Option<u16>, usize, &str)> = vec![
        (good.replace(";NB;", ";EFFECTIF;"), None, 1, "no NB column"),
        (
            good.replacen("COM;97601;Acoua;1;7;1", "COM;97601;Acoua;1;107;1", 1),
            None,
            9,
            "AGED100 \"107\"",
        ),
        (
            good.replacen("COM;97601;Acoua;1;7;1;2021", "COM;97601;Acoua;1;7;1", 1),
            None,
            9,
            "fields",
        ),
        (
            good.replacen(";2021\n", ";21\n", 1),
            None,
            2,
            "ANNEE \"21\"",
        ),
        (
            good.replacen("COM;97601;Acoua;1;8;", "COM;97601;Acoua;1;7;", 1),
            None,
            10,
            "line 9",
        ),
        (
            insee_rows(&[(2021, 1.0)], false),
            None,
            1,
            "no ANNEE column",
        ),
        (good.clone(), Some(2021), 1, "do not give --annee"),
        (
            good.lines()
                .filter(|l| !l.contains(";97617;"))
                .collect::<Vec<_>>()
                .join("\n"),
            None,
            0,
            "no row for",
        ),
        (
            good.lines()
                .filter(|l| !l.contains(";97601;Acoua;1;44;"))
                .filter(|l| !l.contains(";97601;Acoua;2;44;"))
                .collect::<Vec<_>>()
                .join("\n"),
            None,
            0,
            "no row for age 44 in Acoua",
        ),
        (
            "NIVGEO;CODGEO;AGED100;NB;ANNEE\nCOM;75056;3;2;2021\n".into(),
            None,
            0,
            "no row for a commune of Mayotte",
        ),
        (String::new(), None, 0, "empty"),
    ];
    for (text, year, line, why) in cases {
        let err = insee::parse("pop.csv", text.as_bytes(), year).unwrap_err();
        assert!(err.line == line && err.why.contains(why), "{why}: {err:?}");
    }
    let mut latin1 = good.clone().into_bytes();
    latin1.extend_from_slice(b"COM;97601;Acoua;1;3;1;2021\xe9\n");
    let err = insee::parse("pop.csv", &latin1, None).unwrap_err();
    assert!(err.why.contains("UTF-8") && err.line > 3000, "{err:?}");
}
