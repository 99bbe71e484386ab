//! The open-data catalog in DCAT-AP (JSON-LD), at
//! `/donnees/catalogue.jsonld`, for the national open-data portal to
//! harvest: one `dcat:Dataset` per published indicator, each with its
//! standard CSV, French-spreadsheet CSV and JSON distributions, and the
//! licence on the catalog, every dataset and every distribution.
//!
//! The licence is the Licence Ouverte / Open Licence 2.0 (Etalab); the
//! publisher is the hub's name (`name` in `hub.toml`), the addresses are
//! built on its public address ([`passerelle_config::HubConfig::public_url`]),
//! never on a request's `Host`. Only published results are listed: an
//! indicator never computed has nothing to download.

use std::sync::Arc;

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use passerelle_link::output::rfc3339;
use passerelle_observatory::catalog::{theme_label, Indicator};
use passerelle_protocol::geo;
use serde_json::{json, Value};

use crate::{export::Dialect, state::Ctx};

/// The licence of the open data.
pub const LICENCE: &str = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/";
/// Its name.
pub const LICENCE_TITLE: &str = "Licence Ouverte / Open Licence version 2.0";

/// The JSON-LD context: the DCAT-AP namespaces and the typed terms.
pub fn context() -> Value {
    json!({
        "dcat": "http://www.w3.org/ns/dcat#",
        "dct": "http://purl.org/dc/terms/",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "vcard": "http://www.w3.org/2006/vcard/ns#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "dct:issued": {"@type": "xsd:dateTime"},
        "dct:modified": {"@type": "xsd:dateTime"},
    })
}

fn fr(text: &str) -> Value {
    json!({"@value": text, "@language": "fr"})
}

fn licence() -> Value {
    json!({"@id": LICENCE, "@type": "dct:LicenseDocument", "dct:title": fr(LICENCE_TITLE)})
}

/// EU vocabularies for formats and frequencies.
const FILE_TYPE: &str = "http://publications.europa.eu/resource/authority/file-type/";
const MEDIA_TYPE: &str = "http://www.iana.org/assignments/media-types/";

fn frequency(text: &str) -> Option<&'static str> {
    match text {
        "trimestrielle" => Some("QUARTERLY"),
        "mensuelle" => Some("MONTHLY"),
        "annuelle" => Some("ANNUAL"),
        "hebdomadaire" => Some("WEEKLY"),
        _ => None,
    }
}

fn distribution(base: &str, ind: &Indicator, format: &str) -> Value {
    let (title, url, media, file_type) = match format {
        "json" => (
            "JSON (tous niveaux)".to_string(),
            format!("{base}/donnees/{}.json", ind.id),
            "application/json",
            "JSON",
        ),
        _ => {
            let d = Dialect::from_query(Some(format)).unwrap_or(Dialect::Standard);
            let title = match d {
                Dialect::Standard => "CSV (tous niveaux ; virgule, point décimal)",
                Dialect::French => {
                    "CSV pour tableur en français (tous niveaux ; point-virgule, virgule décimale, UTF-8 avec BOM)"
                }
            };
            (
                title.to_string(),
                format!("{base}/donnees/{}.csv?format={}", ind.id, d.query()),
                "text/csv",
                "CSV",
            )
        }
    };
    json!({
        "@id": format!("{base}/donnees/{}#{format}", ind.id),
        "@type": "dcat:Distribution",
        "dct:title": fr(&title),
        "dcat:accessURL": {"@id": format!("{base}/indicateur/{}", ind.id)},
        "dcat:downloadURL": {"@id": url},
        "dcat:mediaType": {"@id": format!("{MEDIA_TYPE}{media}")},
        "dct:format": {"@id": format!("{FILE_TYPE}{file_type}")},
        "dct:license": licence(),
    })
}

/// The DCAT-AP catalog of the published indicators.
pub fn document(ctx: &Ctx) -> Value {
    let base = ctx.hub.config.public_url();
    let publisher = json!({
        "@id": format!("{base}/#editeur"),
        "@type": "foaf:Agent",
        "foaf:name": ctx.hub.config.name,
    });
    let spatial =
        json!({"@id": format!("http://id.insee.fr/geo/departement/{}", geo::DEPARTMENT_CODE)});
    let datasets: Vec<Value> = ctx
        .catalog()
        .iter()
        .filter_map(|ind| ctx.latest(&ind.id).map(|r| (ind, r)))
        .map(|(ind, r)| {
            let distributions: Vec<Value> = ["csv", "csv-fr", "json"]
                .iter()
                .map(|f| distribution(&base, ind, f))
                .collect();
            let mut d = json!({
                "@id": format!("{base}/indicateur/{}", ind.id),
                "@type": "dcat:Dataset",
                "dct:identifier": ind.id,
                "dct:title": fr(&ind.title),
                "dct:description": fr(&format!("{} Unité : {}. Sources : {}.", ind.definition, ind.unit, ind.sources.join(", "))),
                "dcat:keyword": [fr(theme_label(&ind.theme))],
                "dct:publisher": publisher,
                "dct:spatial": spatial,
                "dct:modified": rfc3339(r.computed_at),
                "dct:license": licence(),
                "dcat:landingPage": {"@id": format!("{base}/indicateur/{}", ind.id)},
                "dcat:distribution": distributions,
            });
            if let (Some(f), Some(map)) = (frequency(&ind.frequency), d.as_object_mut()) {
                map.insert(
                    "dct:accrualPeriodicity".into(),
                    json!({"@id": format!("http://publications.europa.eu/resource/authority/frequency/{f}")}),
                );
            }
            d
        })
        .collect();
    let mut catalog = json!({
        "@context": context(),
        "@id": format!("{base}/donnees/catalogue.jsonld"),
        "@type": "dcat:Catalog",
        "dct:title": fr(&format!("Données ouvertes — {}", ctx.hub.config.name)),
        "dct:description": fr("Indicateurs sociaux et médico-sociaux agrégés par commune, intercommunalité (EPCI) et département, composés à partir des données des institutions partenaires. Aucune donnée personnelle ; les chiffres trop petits sont masqués (secret statistique)."),
        "dct:publisher": publisher,
        "dct:language": {"@id": "http://publications.europa.eu/resource/authority/language/FRA"},
        "dct:license": licence(),
        "dct:spatial": spatial,
        "foaf:homepage": {"@id": format!("{base}/donnees")},
        "dcat:dataset": datasets,
    });
    if let (Some(contact), Some(map)) = (&ctx.hub.config.contact, catalog.as_object_mut()) {
        let mut point = json!({"@type": "vcard:Kind", "vcard:fn": ctx.hub.config.name});
        if contact.contains('@') && !contact.contains(char::is_whitespace) {
            point["vcard:hasEmail"] = json!({"@id": format!("mailto:{contact}")});
        } else {
            point["vcard:note"] = json!(contact);
        }
        map.insert("dcat:contactPoint".into(), point);
    }
    catalog
}

/// GET `/donnees/catalogue.jsonld`.
pub async fn catalog(State(ctx): State<Arc<Ctx>>) -> Response {
    let body = document(&ctx).to_string();
    (
        [(header::CONTENT_TYPE, "application/ld+json; charset=utf-8")],
        body,
    )
        .into_response()
}
