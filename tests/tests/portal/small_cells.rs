//! No small cell anywhere: a crawler walks the whole portal, public and
//! signed in, and every figure it finds tied to a cell is checked against
//! the true counts of the generated rows, computed here independently.
//!
//! Pages mark each figure with the cell it shows (`data-indicator`,
//! `data-level`, `data-code`, `data-period`); downloads and API answers
//! are parsed strictly. A figure must be the true value of its cell, and a
//! count of people is shown only when it is zero (the disclosure rule
//! releases zeros) or at least the node's `min_cell`; otherwise the cell
//! must say it is masked or unavailable.

use std::collections::{HashMap, HashSet, VecDeque};

use passerelle_config::NodeConfig;
use passerelle_protocol::geo::{self, Level};
use passerelle_tests::{by_sex, http, rows, rows_csv, Net};

use super::figures::{csv_figures, html_figures, json_figures, links, Shown};

/// Most requests one crawl may make: the walk fails rather than stop
/// silently short of the end.
const MAX_FETCHES: usize = 3000;

/// One figure found, and where.
#[derive(Debug)]
struct Figure {
    url: String,
    indicator: String,
    level: Level,
    code: String,
    period: String,
    shown: Shown,
}

/// The true counts of the generated rows per (level, code, period).
struct Truth {
    counts: HashMap<(Level, String, String), u64>,
    /// The same per sex (`F`, `M`): `personnes-recues` is broken down by
    /// sex in this test's catalog.
    by_sex: HashMap<(Level, String, String, String), u64>,
    min_cell: u64,
}

impl Truth {
    fn new(data: &[(String, String, &str)], periods: &[&str], min_cell: u64) -> Self {
        let (mut counts, mut by_sex) = (HashMap::new(), HashMap::new());
        for p in periods {
            for level in Level::ALL {
                for code in geo::codes(level) {
                    counts.insert((level, code.to_string(), p.to_string()), 0);
                    for sex in ["F", "M"] {
                        by_sex.insert((level, code.to_string(), p.to_string(), sex.to_string()), 0);
                    }
                }
            }
        }
        for (commune, period, sex) in data {
            let i = geo::commune_index(commune).expect("generated commune");
            for level in Level::ALL {
                let code = geo::parent_code(i, level).to_string();
                let key = (level, code.clone(), period.clone());
                *counts.get_mut(&key).expect("generated period") += 1;
                let key = (level, code, period.clone(), sex.to_string());
                *by_sex.get_mut(&key).expect("generated sex") += 1;
            }
        }
        Self {
            counts,
            by_sex,
            min_cell,
        }
    }

    fn small(&self, n: u64) -> bool {
        (1..self.min_cell).contains(&n)
    }

    fn count(&self, f: &Figure) -> Result<u64, String> {
        self.counts
            .get(&(f.level, f.code.clone(), f.period.clone()))
            .copied()
            .ok_or_else(|| "a cell of a unit or period with no data".to_string())
    }

    /// Whether a figure may be shown: `Err` says why not.
    fn check(&self, f: &Figure) -> Result<(), String> {
        let Shown::Value(v) = f.shown else {
            return Ok(());
        };
        let expected = match f.indicator.as_str() {
            breakdown if breakdown.starts_with("personnes-recues#") => {
                let sex = breakdown
                    .strip_prefix("personnes-recues#sexe=")
                    .ok_or("a breakdown this test's catalog does not declare")?;
                let n = *self
                    .by_sex
                    .get(&(f.level, f.code.clone(), f.period.clone(), sex.to_string()))
                    .ok_or("a category of no generated row")?;
                if self.small(n) {
                    return Err(format!(
                        "{n} people of sex {sex}, under the threshold of {}",
                        self.min_cell
                    ));
                }
                n as f64
            }
            "personnes-recues" => {
                let n = self.count(f)?;
                if self.small(n) {
                    return Err(format!(
                        "{n} people, under the threshold of {}",
                        self.min_cell
                    ));
                }
                n as f64
            }
            // Communes of the unit where people were received; a commune's
            // own 0 or 1 is shown only when its count could be.
            "communes-desservies" => {
                let n = self.count(f)?;
                if f.level == Level::Commune && self.small(n) {
                    return Err(format!("served commune of {n} people, a small cell"));
                }
                geo::COMMUNES
                    .iter()
                    .enumerate()
                    .filter(|(i, c)| {
                        geo::parent_code(*i, f.level) == f.code
                            && self.counts[&(Level::Commune, c.code.to_string(), f.period.clone())]
                                > 0
                    })
                    .count() as f64
            }
            "population" => geo::population_2017(f.level, &f.code)
                .ok_or("population of an unknown unit")? as f64,
            _ => return Err("no dataset of this network feeds it, yet it shows a value".into()),
        };
        if (v - expected).abs() > 1e-9 {
            return Err(format!("shows {v}, the true value is {expected}"));
        }
        Ok(())
    }
}

#[tokio::test]
async fn public_pages_downloads_and_api_never_show_a_small_cell() {
    // `personnes-recues` broken down by sex: its breakdown's figures are
    // crawled and checked like the total's.
    let net = Net::new();
    net.catalog(&[("sexe.toml", &by_sex("personnes-recues", "Personnes reçues"))]);
    let hub = net.start_hub(None).await;
    let periods = ["2025-T1", "2025-T2"];
    let data = rows(7, &periods);
    let node = net
        .data_node(&hub, "asso-a", Some(&rows_csv(&data)), false)
        .await;
    hub.ctx().observatory.refresh_all(&hub.ctx().fed).await;
    let policy = NodeConfig::load(&net.node_dir("asso-a").join("node.toml"))
        .unwrap()
        .policy;
    assert!(
        policy.rounding <= 1,
        "the truth below is of unrounded counts"
    );
    let truth = Truth::new(&data, &periods, policy.min_cell);
    let small_communes: Vec<(String, String)> = truth
        .counts
        .iter()
        .filter(|((l, _, _), n)| *l == Level::Commune && truth.small(**n))
        .map(|((_, c, p), _)| (c.clone(), p.clone()))
        .collect();
    assert!(!small_communes.is_empty(), "the rows have small cells");

    // Public: from the home page, plus every sheet, download and API
    // answer of every indicator at every level and period, in case a link
    // is missing.
    let addr = hub.http_addr;
    let (status, _, catalog) = http(addr, "GET", "/api/catalog", &[], "").await;
    assert_eq!(status, 200);
    let catalog: serde_json::Value = serde_json::from_str(&catalog).unwrap();
    let ids: Vec<String> = catalog
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.iter().any(|i| i == "personnes-recues"));
    let mut seeds = vec!["/".to_string(), "/api/catalog".to_string()];
    for id in &ids {
        seeds.push(format!("/api/indicators/{id}"));
        seeds.push(format!("/donnees/{id}.csv"));
        seeds.push(format!("/donnees/{id}.csv?par=sexe"));
        seeds.push(format!("/donnees/{id}.csv?par=sexe&format=csv-fr"));
        seeds.push(format!("/donnees/{id}.json"));
        for level in Level::ALL {
            seeds.push(format!("/api/indicators/{id}?level={level}"));
            seeds.push(format!("/donnees/{id}.csv?niveau={level}"));
            seeds.push(format!("/donnees/{id}.json?niveau={level}"));
            for p in periods {
                seeds.push(format!("/indicateur/{id}?niveau={level}&periode={p}"));
                seeds.push(format!(
                    "/indicateur/{id}/preuve?niveau={level}&periode={p}"
                ));
            }
        }
    }
    let public = crawl(addr, None, seeds, "/").await;

    // Partners, signed in: their pages and every territory's report.
    let inst = passerelle_protocol::ids::NodeId::new("asso-a").unwrap();
    let password = passerelle_tests::vault::add_partner(&hub, "agent@asso.fr", "Agent A", &inst);
    let (session, _) = super::sign_in(addr, "agent@asso.fr", &password).await;
    let mut seeds = vec!["/partenaires".to_string()];
    for level in Level::ALL {
        for code in geo::codes(level) {
            for p in periods {
                for programme in ["asso-a", "tous"] {
                    seeds.push(format!(
                        "/partenaires/rapport?territoire={code}&periode={p}&programme={programme}"
                    ));
                }
            }
        }
    }
    let partners = crawl(addr, Some(&session), seeds, "/partenaires").await;

    let mut problems: Vec<String> = public
        .problems
        .iter()
        .chain(&partners.problems)
        .cloned()
        .collect();
    // The directory's map counts the actors listed (institutions and
    // services, public information), not people: no indicator feeds it.
    let figures: Vec<&Figure> = public
        .figures
        .iter()
        .chain(&partners.figures)
        .filter(|f| f.indicator != "annuaire")
        .collect();
    for f in &figures {
        if let Err(why) = truth.check(f) {
            problems.push(format!(
                "{} shows {:?} for {} {} {} {}: {why}",
                f.url, f.shown, f.indicator, f.level, f.code, f.period
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );

    // The walk saw every cell of the counted indicator, on pages, in the
    // CSV, in the JSON and from the API, and the reports of every unit.
    for (kind, what) in [
        ("page", |u: &str| u.starts_with("/indicateur/")),
        ("CSV", |u: &str| u.contains(".csv")),
        ("JSON file", |u: &str| u.contains(".json")),
        ("API", |u: &str| u.starts_with("/api/")),
        ("report", |u: &str| u.starts_with("/partenaires/rapport")),
        ("provenance bundle", |u: &str| u.contains("/preuve")),
    ] as [(&str, fn(&str) -> bool); 6]
    {
        let seen: HashSet<(Level, &str, &str)> = figures
            .iter()
            .filter(|f| f.indicator == "personnes-recues" && what(&f.url))
            .map(|f| (f.level, f.code.as_str(), f.period.as_str()))
            .collect();
        for (level, code, period) in truth.counts.keys() {
            assert!(
                seen.contains(&(*level, code.as_str(), period.as_str())),
                "no {kind} showed personnes-recues {level} {code} {period}"
            );
        }
    }
    // And the breakdown's figures: on the sheet, in its CSV files (every
    // cell of both sexes), in the JSON and from the API.
    for (kind, what) in [
        ("page", |u: &str| u.starts_with("/indicateur/")),
        ("JSON file", |u: &str| u.contains(".json")),
        ("API", |u: &str| u.starts_with("/api/")),
    ] as [(&str, fn(&str) -> bool); 3]
    {
        assert!(
            figures
                .iter()
                .any(|f| f.indicator.starts_with("personnes-recues#sexe=") && what(&f.url)),
            "no {kind} showed the breakdown by sex"
        );
    }
    let seen: HashSet<(Level, &str, &str, &str)> = figures
        .iter()
        .filter(|f| f.url.contains("par=sexe"))
        .filter_map(|f| {
            let sex = f.indicator.strip_prefix("personnes-recues#sexe=")?;
            Some((f.level, f.code.as_str(), f.period.as_str(), sex))
        })
        .collect();
    for (level, code, period, sex) in truth.by_sex.keys() {
        assert!(
            seen.contains(&(*level, code.as_str(), period.as_str(), sex.as_str())),
            "no CSV showed personnes-recues by sex {level} {code} {period} {sex}"
        );
    }
    // Small communes are said to be masked, and hatched on the map.
    for (code, period) in &small_communes {
        let masked = |f: &&&Figure| {
            f.indicator == "personnes-recues"
                && f.level == Level::Commune
                && &f.code == code
                && &f.period == period
        };
        assert!(figures
            .iter()
            .filter(masked)
            .all(|f| f.shown == Shown::Absent));
    }
    let (code, period) = &small_communes[0];
    let (_, _, sheet) = http(
        addr,
        "GET",
        &format!("/indicateur/personnes-recues?niveau=commune&periode={period}"),
        &[],
        "",
    )
    .await;
    let area = sheet
        .split("<path ")
        .find(|p| p.contains(&format!("data-code=\"{code}\"")))
        .unwrap_or_else(|| panic!("no map area of {code}"));
    assert!(area.contains("url(#hachures)"), "{area}");
    assert!(
        public.fetched > 200 && partners.fetched > 100,
        "{} public, {} partner fetches",
        public.fetched,
        partners.fetched
    );
    node.stop().await;
    hub.stop().await;
}

/// What a crawl found.
#[derive(Default)]
struct Crawl {
    fetched: usize,
    figures: Vec<Figure>,
    problems: Vec<String>,
}

/// Fetches `seeds` and every same-site link under `within` they lead to,
/// with the session cookie when given; reads the figures of each page,
/// download and API answer.
async fn crawl(
    addr: std::net::SocketAddr,
    session: Option<&str>,
    seeds: Vec<String>,
    within: &str,
) -> Crawl {
    let mut out = Crawl::default();
    let mut seen: HashSet<String> = seeds.iter().cloned().collect();
    let mut queue: VecDeque<String> = seeds.into();
    let headers: Vec<(&str, &str)> = session.map(|s| ("Cookie", s)).into_iter().collect();
    while let Some(url) = queue.pop_front() {
        out.fetched += 1;
        assert!(out.fetched <= MAX_FETCHES, "more than {MAX_FETCHES} URLs");
        let (status, h, body) = http(addr, "GET", &url, &headers, "").await;
        let kind = h
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if status != 200 {
            // Only an indicator never computed has no API answer or file.
            let uncomputed = status == 404
                && (url.starts_with("/api/indicators/")
                    || url.starts_with("/donnees/")
                    || url.contains("/preuve"));
            let redirect = status == 303 && session.is_none();
            if !uncomputed && !redirect {
                out.problems.push(format!("{url}: status {status}"));
            }
            continue;
        }
        let found = if kind.starts_with("text/html") {
            for link in links(&body) {
                if link.starts_with(within)
                    && !link.starts_with("/static/")
                    && seen.insert(link.clone())
                {
                    queue.push_back(link);
                }
            }
            html_figures(&body)
        } else if kind.starts_with("text/csv") {
            csv_figures(&body)
        } else if kind.starts_with("application/json") {
            json_figures(&body)
        } else {
            Ok(Vec::new())
        };
        match found {
            Ok(list) => out.figures.extend(list.into_iter().map(
                |(indicator, level, code, period, shown)| Figure {
                    url: url.clone(),
                    indicator,
                    level,
                    code,
                    period,
                    shown,
                },
            )),
            Err(e) => out.problems.push(format!("{url}: {e}")),
        }
    }
    out
}
