//! Exports that fit their users: every CSV download offered in both
//! dialects, each parsed as a program and a French spreadsheet would read
//! it; the DCAT-AP catalog of the open data, checked against the terms of
//! its JSON-LD context.
//!
//! The DCAT-AP document is validated structurally in this test, not by a
//! JSON-LD processor: every key outside `@`-keywords must be a compact
//! IRI whose prefix the document's `@context` maps to the DCAT-AP
//! namespace IRI, and name a term of that vocabulary; the classes and the
//! mandatory properties are then checked on the expanded names.

use std::collections::{BTreeMap, BTreeSet};

use passerelle_tests::{http_get, rows, rows_csv, Net};
use serde_json::Value;

use super::figures::{csv_fields_with, links};

/// A rate with decimals over `personnes_recues`, so the decimal comma of
/// the French dialect shows.
const RATE: &str = r#"
[[indicator]]
id = "recues-pour-mille"
title = "Personnes reçues pour 1 000 habitants"
theme = "activite"
unit = "pour 1 000 habitants"
definition = "Personnes reçues rapportées à la population."
sources = ["Association test"]
frequency = "trimestrielle"
formula = "rate"
numerator = ["personnes_recues"]
denominator = ["ref:population"]
per = 1000
decimals = 2
"#;

/// A CSV file read as a program (standard) or a French spreadsheet would:
/// header and rows of fields.
fn parse(body: &[u8], french: bool) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::str::from_utf8(body).expect("UTF-8");
    let (text, sep) = if french {
        (
            text.strip_prefix('\u{feff}')
                .expect("the French dialect starts with a UTF-8 BOM"),
            ';',
        )
    } else {
        assert!(!text.starts_with('\u{feff}'), "no BOM in the standard CSV");
        (text, ',')
    };
    let mut lines = text.lines();
    let header = csv_fields_with(lines.next().expect("a header"), sep).expect("header");
    let rows: Vec<Vec<String>> = lines
        .map(|l| csv_fields_with(l, sep).expect("a row"))
        .collect();
    for r in &rows {
        assert_eq!(r.len(), header.len(), "{r:?} against {header:?}");
    }
    (header, rows)
}

#[tokio::test]
async fn every_csv_download_opens_in_both_dialects_and_the_dcat_catalog_is_complete() {
    let catalog = tempfile::tempdir().expect("tempdir");
    std::fs::write(catalog.path().join("taux.toml"), RATE).expect("catalog file");
    let net = Net::new();
    let dir = catalog.path().to_path_buf();
    net.configure(|c| {
        c.catalog_dir = Some(dir);
        c.portal_url = Some("https://observatoire.example.yt".into());
    });
    let hub = net.start_hub(None).await;
    let node = net
        .data_node(
            &hub,
            "asso-a",
            Some(&rows_csv(&rows(21, &["2025-T1", "2025-T2"]))),
            false,
        )
        .await;
    for id in ["personnes-recues", "recues-pour-mille"] {
        passerelle_tests::refresh(&hub, id).await;
    }
    let addr = hub.http_addr;

    // Every CSV link of the open-data page and of the sheets, in pairs.
    let (_, _, data) = http_get(addr, "/donnees").await;
    let mut downloads: BTreeSet<String> = links(&data)
        .into_iter()
        .filter(|l| l.contains(".csv"))
        .collect();
    for id in ["personnes-recues", "recues-pour-mille"] {
        let (_, _, sheet) = http_get(addr, &format!("/indicateur/{id}")).await;
        downloads.extend(links(&sheet).into_iter().filter(|l| l.contains(".csv")));
    }
    let standard: Vec<&String> = downloads
        .iter()
        .filter(|l| !l.contains("format=csv-fr"))
        .collect();
    assert!(standard.len() >= 4, "{downloads:?}");
    let mut decimal_commas = 0;
    for link in standard {
        let sep = if link.contains('?') { '&' } else { '?' };
        let french = format!("{link}{sep}format=csv-fr");
        assert!(
            downloads.contains(&french),
            "{link} has no French spreadsheet twin among {downloads:?}"
        );
        // Only computed indicators have a file (the others answer 404).
        if !link.contains("/personnes-recues.") && !link.contains("/recues-pour-mille.") {
            continue;
        }
        let (s1, h1, b1) = passerelle_tests::http_bytes(addr, "GET", link, &[], b"").await;
        let (s2, h2, b2) = passerelle_tests::http_bytes(addr, "GET", &french, &[], b"").await;
        assert_eq!((s1, s2), (200, 200), "{link}");
        let kind = |h: &[(String, String)]| {
            h.iter()
                .find(|(k, _)| k == "content-type")
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(kind(&h1), "text/csv; charset=utf-8");
        assert_eq!(kind(&h2), "text/csv; charset=utf-8");
        let disposition = |h: &[(String, String)]| {
            h.iter()
                .find(|(k, _)| k == "content-disposition")
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert!(
            disposition(&h2).contains("-fr.csv"),
            "{:?}",
            disposition(&h2)
        );
        assert!(!disposition(&h1).contains("-fr.csv"));
        let (head1, rows1) = parse(&b1, false);
        let (head2, rows2) = parse(&b2, true);
        assert_eq!(head1, head2);
        assert_eq!(
            head1,
            [
                "indicateur",
                "niveau",
                "code",
                "nom",
                "periode",
                "valeur",
                "statut"
            ]
        );
        assert_eq!(rows1.len(), rows2.len(), "{link}");
        assert!(!rows1.is_empty(), "{link}");
        for (a, b) in rows1.iter().zip(&rows2) {
            // Same cells; the value differs only by its decimal separator.
            assert_eq!(a[..5], b[..5], "{link}");
            assert_eq!(a[6], b[6], "{link}");
            assert!(
                !b[5].contains('.'),
                "a decimal point in the French file: {b:?}"
            );
            assert_eq!(a[5], b[5].replace(',', "."), "{link}");
            if a[5].is_empty() {
                assert_ne!(a[6], "publie", "a published cell without a value: {a:?}");
            } else {
                a[5].parse::<f64>().expect("a number a program reads");
            }
            if b[5].contains(',') {
                decimal_commas += 1;
            }
            // A name with an apostrophe or accent reads back whole.
            if a[2] == "97613" {
                assert_eq!(a[3], "M'Tsangamouji");
                assert_eq!(b[3], "M'Tsangamouji");
            }
        }
    }
    assert!(
        decimal_commas > 0,
        "the rate has decimals in the French file"
    );
    let (status, _, _) = http_get(addr, "/donnees/personnes-recues.csv?format=xls").await;
    assert_eq!(status, 400, "an unknown format is refused");

    // The DCAT-AP catalog.
    assert!(
        data.contains("href=\"/donnees/catalogue.jsonld\""),
        "{data}"
    );
    assert!(data.contains("Licence Ouverte"));
    let (status, headers, body) = http_get(addr, "/donnees/catalogue.jsonld").await;
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v.starts_with("application/ld+json")),
        "{headers:?}"
    );
    let doc: Value = serde_json::from_str(&body).expect("JSON");
    check_dcat(&doc, "https://observatoire.example.yt", addr).await;

    node.stop().await;
    hub.stop().await;
}

/// The namespaces DCAT-AP uses, and the terms this catalog may use in each.
const VOCABULARY: &[(&str, &str, &[&str])] = &[
    (
        "dcat",
        "http://www.w3.org/ns/dcat#",
        &[
            "Catalog",
            "Dataset",
            "Distribution",
            "dataset",
            "distribution",
            "accessURL",
            "downloadURL",
            "mediaType",
            "keyword",
            "landingPage",
            "contactPoint",
            "theme",
        ],
    ),
    (
        "dct",
        "http://purl.org/dc/terms/",
        &[
            "title",
            "description",
            "publisher",
            "license",
            "LicenseDocument",
            "language",
            "spatial",
            "modified",
            "issued",
            "identifier",
            "format",
            "accrualPeriodicity",
        ],
    ),
    (
        "foaf",
        "http://xmlns.com/foaf/0.1/",
        &["Agent", "name", "homepage"],
    ),
    (
        "vcard",
        "http://www.w3.org/2006/vcard/ns#",
        &["Kind", "fn", "hasEmail", "note"],
    ),
    ("xsd", "http://www.w3.org/2001/XMLSchema#", &["dateTime"]),
];

/// Expands a compact IRI with the context, checking the term is known.
fn expand(context: &BTreeMap<String, String>, name: &str) -> String {
    let (prefix, term) = name
        .split_once(':')
        .unwrap_or_else(|| panic!("{name:?} is not a compact IRI of the context"));
    let iri = context
        .get(prefix)
        .unwrap_or_else(|| panic!("prefix {prefix:?} not in the @context"));
    let (_, _, terms) = VOCABULARY
        .iter()
        .find(|(_, ns, _)| ns == iri)
        .unwrap_or_else(|| panic!("{iri} is not a DCAT-AP namespace"));
    assert!(terms.contains(&term), "{name} is not a term of {iri}");
    format!("{iri}{term}")
}

/// Every node of the document, its keys expanded, with its expanded type.
fn walk(
    context: &BTreeMap<String, String>,
    v: &Value,
    out: &mut Vec<(Option<String>, BTreeMap<String, Value>)>,
) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| walk(context, i, out)),
        Value::Object(map) => {
            if map.contains_key("@value") {
                assert!(map["@value"].is_string(), "{v}");
                assert_eq!(map.get("@language"), Some(&Value::from("fr")), "{v}");
                return;
            }
            let mut node = BTreeMap::new();
            for (k, val) in map {
                match k.as_str() {
                    "@context" => {}
                    "@id" => {
                        let id = val.as_str().expect("@id is text");
                        assert!(
                            id.starts_with("http://")
                                || id.starts_with("https://")
                                || id.starts_with("mailto:"),
                            "@id {id} is an absolute IRI"
                        );
                        node.insert("@id".into(), val.clone());
                    }
                    "@type" => {
                        node.insert(
                            "@type".into(),
                            Value::from(expand(context, val.as_str().expect("one type"))),
                        );
                    }
                    _ => {
                        node.insert(expand(context, k), val.clone());
                        walk(context, val, out);
                    }
                }
            }
            let kind = node.get("@type").and_then(Value::as_str).map(String::from);
            out.push((kind, node));
        }
        _ => {}
    }
}

const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";

async fn check_dcat(doc: &Value, base: &str, addr: std::net::SocketAddr) {
    let ctx = doc["@context"].as_object().expect("a JSON-LD @context");
    let mut context = BTreeMap::new();
    for (k, v) in ctx {
        if let Some(iri) = v.as_str() {
            context.insert(k.clone(), iri.to_string());
        } else {
            // A typed term: a known term with a known datatype.
            expand(&context_prefixes(ctx), k);
            expand(&context_prefixes(ctx), v["@type"].as_str().expect("@type"));
        }
    }
    for (prefix, iri, _) in VOCABULARY {
        if let Some(found) = context.get(*prefix) {
            assert_eq!(found, iri, "prefix {prefix}");
        }
    }
    assert_eq!(context.get("dcat").map(String::as_str), Some(DCAT));
    assert_eq!(context.get("dct").map(String::as_str), Some(DCT));
    let mut nodes = Vec::new();
    walk(&context, doc, &mut nodes);
    let of = |t: &str| -> Vec<&BTreeMap<String, Value>> {
        nodes
            .iter()
            .filter(|(k, _)| k.as_deref() == Some(t))
            .map(|(_, n)| n)
            .collect()
    };
    let text = |n: &BTreeMap<String, Value>, p: &str| -> String {
        let v = n.get(p).unwrap_or_else(|| panic!("no {p} in {n:?}"));
        v["@value"]
            .as_str()
            .or(v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let id = |n: &BTreeMap<String, Value>, p: &str| -> String {
        n.get(p).unwrap_or_else(|| panic!("no {p} in {n:?}"))["@id"]
            .as_str()
            .unwrap_or_else(|| panic!("{p} is a node in {n:?}"))
            .to_string()
    };

    // dcat:Catalog: title, description, publisher (a named foaf:Agent),
    // datasets, licence.
    let catalogs = of(&format!("{DCAT}Catalog"));
    assert_eq!(catalogs.len(), 1);
    let cat = catalogs[0];
    assert!(!text(cat, &format!("{DCT}title")).is_empty());
    assert!(!text(cat, &format!("{DCT}description")).is_empty());
    let publisher = &cat[&format!("{DCT}publisher")];
    assert_eq!(publisher["@type"], "foaf:Agent");
    assert_eq!(
        publisher["foaf:name"], "DEETS test",
        "the hub's name publishes"
    );
    assert!(id(cat, &format!("{DCT}license")).contains("licence-ouverte"));

    // dcat:Dataset: one per published indicator, with title, description,
    // distributions, publisher.
    let datasets = of(&format!("{DCAT}Dataset"));
    let ids: BTreeSet<String> = datasets
        .iter()
        .map(|d| text(d, &format!("{DCT}identifier")))
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from([
            "personnes-recues".to_string(),
            "recues-pour-mille".to_string()
        ]),
        "the published indicators, and only them"
    );
    for d in &datasets {
        assert!(!text(d, &format!("{DCT}title")).is_empty());
        assert!(!text(d, &format!("{DCT}description")).is_empty());
        assert!(d.contains_key(&format!("{DCT}publisher")));
        assert!(d[&format!("{DCAT}distribution")]
            .as_array()
            .is_some_and(|a| a.len() == 3));
    }

    // dcat:Distribution: access and download URLs, media type, licence;
    // every download URL answers with its media type.
    let distributions = of(&format!("{DCAT}Distribution"));
    assert_eq!(distributions.len(), 3 * datasets.len());
    let mut media = BTreeSet::new();
    for d in distributions {
        assert!(id(d, &format!("{DCAT}accessURL")).starts_with(base));
        let url = id(d, &format!("{DCAT}downloadURL"));
        let path = url
            .strip_prefix(base)
            .expect("on the portal's public address");
        let m = id(d, &format!("{DCAT}mediaType"));
        let m = m
            .strip_prefix("http://www.iana.org/assignments/media-types/")
            .expect("an IANA media type");
        media.insert(m.to_string());
        assert!(id(d, &format!("{DCT}license")).contains("licence-ouverte"));
        assert!(id(d, &format!("{DCT}format"))
            .starts_with("http://publications.europa.eu/resource/authority/file-type/"));
        let (status, h, _) = http_get(addr, path).await;
        assert_eq!(status, 200, "{url}");
        assert!(
            h.iter()
                .any(|(k, v)| k == "content-type" && v.starts_with(m)),
            "{url} is {m}: {h:?}"
        );
    }
    assert_eq!(
        media,
        BTreeSet::from(["text/csv".to_string(), "application/json".to_string()])
    );
}

/// The plain prefixes of a context (for checking its typed terms).
fn context_prefixes(ctx: &serde_json::Map<String, Value>) -> BTreeMap<String, String> {
    ctx.iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect()
}
