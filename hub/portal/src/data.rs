//! Open data: CSV and JSON downloads of every indicator at every level, and
//! the JSON API under `/api/`, described by an OpenAPI document. Only
//! public aggregates: a withheld cell has a status and no value. Only
//! published results: a draft (a refresh missing a contribution) is never
//! exported; the JSON says when a more recent refresh was incomplete.

use passerelle_protocol::geo::{self, Level};
use serde_json::{json, Value};

use passerelle_link::output::rfc3339;
use passerelle_observatory::{
    catalog::{round, Indicator},
    compose::Status,
    publish::Share,
    Draft, IndicatorResult,
};

use crate::{
    export::{Csv, Dialect, Field},
    state::Ctx,
};

fn status(s: Status) -> &'static str {
    match s {
        Status::Released => "publie",
        Status::Suppressed => "secret_statistique",
        Status::Missing => "non_disponible",
    }
}

fn catalog_entry(i: &Indicator) -> Value {
    json!({
        "id": i.id, "title": i.title, "theme": i.theme, "unit": i.unit, "definition": i.definition,
        "sources": i.sources, "frequency": i.frequency, "formula": i.formula.describe(), "decimals": i.decimals,
    })
}

/// The catalog as JSON.
pub fn catalog(ctx: &Ctx) -> Value {
    Value::Array(ctx.catalog().into_iter().map(catalog_entry).collect())
}

/// An indicator's latest published values as JSON, optionally at one
/// level; `draft` is the refresh more recent than them that was not
/// published, if any (only its date and that it exists are said).
pub fn indicator_json(
    ind: &Indicator,
    r: &IndicatorResult,
    draft: Option<&Draft>,
    level: Option<Level>,
) -> Value {
    let mut answered: Vec<&str> = r
        .coverage
        .answered
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    answered.sort();
    answered.dedup();
    let mut missing: Vec<&str> = r
        .coverage
        .failed
        .iter()
        .filter(|f| f.name != "-")
        .map(|f| f.name.as_str())
        .collect();
    missing.sort();
    missing.dedup();
    let cells: Vec<Value> = r
        .cells
        .iter()
        .filter(|c| level.is_none_or(|l| c.level == l))
        .map(|c| {
            json!({
                "level": c.level, "code": c.code, "name": geo::name(c.level, &c.code),
                "period": c.period.to_string(),
                "value": c.value.map(|v| round(v, ind.decimals)),
                "status": status(c.status),
            })
        })
        .collect();
    let share = Share::of(r);
    json!({
        "indicator": catalog_entry(ind),
        "computed_at": r.computed_at,
        "published_at": rfc3339(r.computed_at),
        "coverage": {
            "complete": r.coverage.complete(),
            "partners_answered": answered,
            "partners_missing": missing,
            "contributions_answered": share.answered,
            "contributions_expected": share.expected,
        },
        "newer_refresh_incomplete": draft.is_some(),
        "newer_refresh_at": draft.map(|d| rfc3339(d.result.computed_at)),
        "cells": cells,
        "breakdowns": breakdowns_json(ind, r, level),
    })
}

/// The breakdowns as JSON: per dimension, its categories, whether it is
/// published and its cells (none when it is not).
fn breakdowns_json(ind: &Indicator, r: &IndicatorResult, level: Option<Level>) -> Value {
    r.breakdowns
        .iter()
        .map(|b| {
            let cells: Vec<Value> = b
                .cells
                .iter()
                .filter(|c| level.is_none_or(|l| c.cell.level == l))
                .map(|c| {
                    json!({
                        "category": c.category, "level": c.cell.level, "code": c.cell.code,
                        "name": geo::name(c.cell.level, &c.cell.code),
                        "period": c.cell.period.to_string(),
                        "value": c.cell.value.map(|v| round(v, ind.decimals)),
                        "status": status(c.cell.status),
                    })
                })
                .collect();
            json!({
                "by": b.by, "categories": b.categories, "published": b.published(), "cells": cells,
            })
        })
        .collect()
}

/// One breakdown of an indicator's latest values as CSV in `dialect`, a
/// `categorie` column after the period; `None` when the result has no
/// such breakdown, or it is not published.
pub fn breakdown_csv(
    ind: &Indicator,
    r: &IndicatorResult,
    by: &str,
    level: Option<Level>,
    dialect: Dialect,
) -> Option<String> {
    let b = r.breakdowns.iter().find(|b| b.by == by && b.published())?;
    let mut csv = Csv::new(
        dialect,
        &[
            "indicateur",
            "repartition",
            "niveau",
            "code",
            "nom",
            "periode",
            "categorie",
            "valeur",
            "statut",
        ],
    );
    for c in b
        .cells
        .iter()
        .filter(|c| level.is_none_or(|l| c.cell.level == l))
    {
        let lvl = c.cell.level.to_string();
        let period = c.cell.period.to_string();
        csv.row(&[
            Field::Text(&ind.id),
            Field::Text(&b.by),
            Field::Text(&lvl),
            Field::Text(&c.cell.code),
            Field::Quoted(geo::name(c.cell.level, &c.cell.code).unwrap_or_default()),
            Field::Text(&period),
            Field::Quoted(&c.category),
            Field::Number(c.cell.value.map(|v| round(v, ind.decimals)), ind.decimals),
            Field::Text(status(c.cell.status)),
        ]);
    }
    Some(csv.finish())
}

/// An indicator's latest values as CSV in `dialect` ([`crate::export`]):
/// each value with exactly the indicator's decimals, each text
/// neutralized against spreadsheet formulas, the name always quoted.
pub fn indicator_csv(
    ind: &Indicator,
    r: &IndicatorResult,
    level: Option<Level>,
    dialect: Dialect,
) -> String {
    let mut csv = Csv::new(
        dialect,
        &[
            "indicateur",
            "niveau",
            "code",
            "nom",
            "periode",
            "valeur",
            "statut",
        ],
    );
    for c in r
        .cells
        .iter()
        .filter(|c| level.is_none_or(|l| c.level == l))
    {
        let level = c.level.to_string();
        let period = c.period.to_string();
        csv.row(&[
            Field::Text(&ind.id),
            Field::Text(&level),
            Field::Text(&c.code),
            Field::Quoted(geo::name(c.level, &c.code).unwrap_or_default()),
            Field::Text(&period),
            Field::Number(c.value.map(|v| round(v, ind.decimals)), ind.decimals),
            Field::Text(status(c.status)),
        ]);
    }
    csv.finish()
}

/// The reference geography.
pub fn geography() -> Value {
    json!({
        "source": "INSEE, code officiel géographique ; populations légales 2017 (population municipale)",
        "department": { "code": geo::DEPARTMENT_CODE, "name": geo::DEPARTMENT_NAME },
        "epci": geo::EPCIS.iter().map(|e| json!({"siren": e.siren, "name": e.name, "siren_confirmed": e.siren_confirmed})).collect::<Vec<_>>(),
        "communes": geo::COMMUNES.iter().map(|c| json!({
            "code": c.code, "name": c.name, "epci": geo::EPCIS[c.epci].siren, "population_2017": c.population_2017,
        })).collect::<Vec<_>>(),
    })
}

/// The OpenAPI document of the public API.
pub fn openapi() -> Value {
    let level = json!({"name": "level", "in": "query", "required": false, "schema": {"type": "string", "enum": ["commune", "epci", "department"]}});
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Passerelle — API publique de l'observatoire social de Mayotte",
            "version": passerelle_hub_core::VERSION,
            "description": "Indicateurs agrégés par commune, intercommunalité (EPCI) et département. Aucune donnée personnelle. Un chiffre masqué (secret statistique) a un statut et pas de valeur.",
        },
        "paths": {
            "/api/catalog": {"get": {"summary": "Le catalogue des indicateurs", "responses": {"200": {"description": "Liste des indicateurs",
                "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Indicator"}}}}}}}},
            "/api/indicators/{id}": {"get": {"summary": "Les dernières valeurs d'un indicateur, avec leur couverture",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}, level],
                "responses": {"200": {"description": "Valeurs", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Result"}}}},
                              "404": {"description": "Indicateur inconnu ou pas encore calculé"}}}},
            "/api/geography": {"get": {"summary": "La géographie de référence (communes, EPCI, département)", "responses": {"200": {"description": "Géographie"}}}},
            "/api/indicators/{id}/provenance": {"get": {"summary": "La preuve d'un chiffre publié (« Vérifier ce chiffre ») : déclaration signée de la plateforme, certificats et signatures des partenaires, à vérifier avec passerelle-verify",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}, level,
                    {"name": "period", "in": "query", "required": false, "schema": {"type": "string", "example": "2025-T2"}}],
                "responses": {"200": {"description": "Fichier de preuve (JSON)"},
                              "404": {"description": "Indicateur inconnu, pas encore calculé, ou période absente"}}}},
        },
        "components": {"schemas": {
            "Indicator": {"type": "object", "properties": {
                "id": {"type": "string"}, "title": {"type": "string"}, "theme": {"type": "string"}, "unit": {"type": "string"},
                "definition": {"type": "string"}, "sources": {"type": "array", "items": {"type": "string"}},
                "frequency": {"type": "string"}, "formula": {"type": "string"}, "decimals": {"type": "integer"}}},
            "Cell": {"type": "object", "properties": {
                "level": {"type": "string", "enum": ["commune", "epci", "department"]}, "code": {"type": "string"},
                "name": {"type": "string"}, "period": {"type": "string", "example": "2025-T2"},
                "value": {"type": "number", "nullable": true},
                "status": {"type": "string", "enum": ["publie", "secret_statistique", "non_disponible"]}}},
            "Result": {"type": "object", "properties": {
                "indicator": {"$ref": "#/components/schemas/Indicator"}, "computed_at": {"type": "integer", "description": "secondes depuis 1970 (UTC)"},
                "published_at": {"type": "string", "format": "date-time", "description": "date du calcul publié (RFC 3339, UTC)"},
                "coverage": {"type": "object", "properties": {"complete": {"type": "boolean", "description": "faux : publié avec une couverture partielle, comme le catalogue l'autorise pour cet indicateur"},
                    "partners_answered": {"type": "array", "items": {"type": "string"}},
                    "partners_missing": {"type": "array", "items": {"type": "string"}},
                    "contributions_answered": {"type": "integer"}, "contributions_expected": {"type": "integer"}}},
                "newer_refresh_incomplete": {"type": "boolean", "description": "vrai : une actualisation plus récente, incomplète, n'a pas été publiée ; les valeurs sont celles du dernier résultat publié"},
                "newer_refresh_at": {"type": "string", "format": "date-time", "nullable": true, "description": "date de cette actualisation non publiée (RFC 3339, UTC)"},
                "cells": {"type": "array", "items": {"$ref": "#/components/schemas/Cell"}},
                "breakdowns": {"type": "array", "description": "les répartitions que le catalogue déclare (par exemple par sexe) ; la même règle de secret statistique vaut pour le total et toutes ses répartitions",
                    "items": {"$ref": "#/components/schemas/Breakdown"}}}},
            "Breakdown": {"type": "object", "properties": {
                "by": {"type": "string", "example": "sexe"}, "categories": {"type": "array", "items": {"type": "string"}},
                "published": {"type": "boolean", "description": "faux : toutes les institutions n'ont pas transmis cette répartition ; elle n'a alors aucune valeur"},
                "cells": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Cell"}, {"type": "object", "properties": {"category": {"type": "string"}}}]}}}},
        }},
    })
}
