//! "Vérifier ce chiffre": the provenance bundle of a published figure, for
//! anyone to check with `passerelle-verify` without trusting the portal.
//!
//! - `/indicateur/{id}/preuve?niveau=&periode=`: the bundle of a sheet's
//!   level and period, as a file to download.
//! - `/api/indicators/{id}/provenance?level=&period=`: the same, for
//!   programs.
//! - `/verifier-un-chiffre`: how to check a figure, in plain French, with
//!   the network's CA fingerprint(s) to compare.
//!
//! A public bundle discloses nothing the portal does not publish (see
//! [`passerelle_provenance::bundle`]); it is made on request from the
//! stored result and signed with the hub's key.

use std::sync::Arc;

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderValue},
    response::{Html, IntoResponse, Response},
};
use maud::{html, Markup};
use passerelle_observatory::{catalog::Indicator, provenance};
use passerelle_protocol::{geo::Level, hex, period::Period, sign::sha256};
use passerelle_provenance::bundle::{Kind, Scope};
use serde::Deserialize;

use crate::{error::PortalError, layout::page, state::Ctx};

/// The routes of figure checks.
pub fn router() -> axum::Router<Arc<Ctx>> {
    use axum::routing::get;
    axum::Router::new()
        .route("/indicateur/{id}/preuve", get(download))
        .route("/api/indicators/{id}/provenance", get(api))
        .route("/verifier-un-chiffre", get(explain))
}

/// `?niveau=&periode=` (or `level`, `period` in the API).
#[derive(Debug, Deserialize)]
pub struct ScopeParams {
    niveau: Option<String>,
    periode: Option<String>,
    level: Option<String>,
    period: Option<String>,
}

impl ScopeParams {
    fn scope(&self) -> Result<Scope, PortalError> {
        let level = self
            .niveau
            .as_deref()
            .or(self.level.as_deref())
            .map(str::parse::<Level>)
            .transpose()
            .map_err(|_| {
                PortalError::BadRequest("Niveau inconnu : choisissez commune, epci ou department.")
            })?;
        let period = self
            .periode
            .as_deref()
            .or(self.period.as_deref())
            .map(str::parse::<Period>)
            .transpose()
            .map_err(|_| {
                PortalError::BadRequest(
                    "Période inconnue : écrivez par exemple 2024, 2024-T1 ou 2024-03.",
                )
            })?;
        Ok(Scope { level, period })
    }
}

/// The public bundle of an indicator's latest published result.
fn bundle(ctx: &Ctx, id: &str, scope: Scope) -> Result<Vec<u8>, PortalError> {
    let ind = ctx.indicator(id).ok_or(PortalError::NotFound)?;
    let result = provenance::latest_with_provenance(&ctx.hub, id)?.ok_or(PortalError::NotFound)?;
    if !result.cells.iter().any(|c| scope.contains(c)) {
        return Err(PortalError::NotFound);
    }
    let b = provenance::bundle(
        &ctx.hub,
        ind,
        &result,
        scope,
        Kind::Public,
        passerelle_link::now(),
    )?;
    serde_json::to_vec_pretty(&b).map_err(|error| {
        tracing::warn!(%error, indicator = id, "bundle not written");
        PortalError::Internal
    })
}

async fn download(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    Query(p): Query<ScopeParams>,
) -> Result<Response, PortalError> {
    let scope = p.scope()?;
    let body = bundle(&ctx, &id, scope)?;
    let name = format!(
        "attachment; filename=\"{id}{}{}-preuve.json\"",
        scope
            .level
            .map(|l| format!("-{}", l.as_str()))
            .unwrap_or_default(),
        scope.period.map(|p| format!("-{p}")).unwrap_or_default(),
    );
    let disposition =
        HeaderValue::from_str(&name).unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

async fn api(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    Query(p): Query<ScopeParams>,
) -> Result<Response, PortalError> {
    let body = bundle(&ctx, &id, p.scope()?)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// The SHA-256 fingerprints of the CA certificates trusted now, as the
/// verifier prints them.
pub fn ca_fingerprints(ctx: &Ctx) -> Vec<String> {
    ctx.hub
        .trusted_cas
        .iter()
        .map(|c| hex::encode(&sha256(c)))
        .collect()
}

/// The "Vérifier ce chiffre" section of an indicator sheet.
pub fn sheet_section(ctx: &Ctx, ind: &Indicator, level: Level, period: &Period) -> Markup {
    html! {
        h2 { "Vérifier ce chiffre" }
        p {
            "Vous n'avez pas à nous croire sur parole. Le fichier de preuve contient la définition de l'indicateur, "
            "les chiffres publiés ici, la déclaration signée de la plateforme et les signatures des partenaires qui ont fourni les données. "
            "Un petit programme indépendant vérifie chaque signature et refait les calculs."
        }
        p {
            a href={ "/indicateur/" (ind.id) "/preuve?niveau=" (level.as_str()) "&periode=" (period) } download {
                "Télécharger la preuve (" (level.label_fr()) ", " (period) ")"
            }
            " · "
            a href="/verifier-un-chiffre" { "Comment vérifier" }
        }
        (fingerprints(ctx))
    }
}

fn fingerprints(ctx: &Ctx) -> Markup {
    html! {
        p {
            "Empreinte de l'autorité de certification du réseau (SHA-256) : "
            @for fp in ca_fingerprints(ctx) { br; code { (fp) } }
        }
    }
}

async fn explain(State(ctx): State<Arc<Ctx>>) -> Html<String> {
    let body = html! {
        h1 { "Vérifier un chiffre publié" }
        p {
            "Chaque chiffre publié sur ce portail est calculé à partir de réponses signées par les institutions partenaires. "
            "Vous pouvez vérifier vous-même, sans faire confiance à ce site, qu'un chiffre vient bien de ces réponses."
        }
        h2 { "En trois étapes" }
        ol {
            li {
                "Sur la fiche d'un indicateur, choisissez le niveau et la période, puis cliquez sur « Télécharger la preuve ». "
                "Vous obtenez un fichier JSON."
            }
            li {
                "Installez le vérificateur indépendant " code { "passerelle-verify" }
                " (un petit programme libre, publié avec le code de Passerelle)."
            }
            li {
                "Lancez : " code { "passerelle-verify preuve.json --ca-fingerprint EMPREINTE" }
                ", en remplaçant EMPREINTE par l'empreinte ci-dessous. Le programme répond VERIFIED si tout est juste, "
                "ou dit précisément ce qui ne va pas."
            }
        }
        (fingerprints(&ctx))
        p {
            "Comparez cette empreinte avec celle publiée par d'autres canaux (courrier officiel, rapport annuel) : "
            "si elles diffèrent, ne vous fiez pas au fichier."
        }
        h2 { "Ce que le vérificateur contrôle" }
        ul {
            li { "que l'autorité de certification du fichier est bien celle du réseau (l'empreinte) ;" }
            li { "que la plateforme a signé la déclaration telle qu'elle est, avec un certificat délivré par cette autorité ;" }
            li { "que chaque partenaire qui a répondu avait un certificat valide de cette autorité au moment de sa réponse ;" }
            li { "quand les réponses sont dans le fichier : la signature de chaque réponse, et chaque chiffre publié, recalculé." }
        }
        h2 { "Ce que le fichier ne montre pas" }
        p {
            "Le fichier de preuve ne révèle rien de plus que ce que le portail publie déjà. Quand un chiffre additionne ou combine les "
            "réponses de plusieurs partenaires, ou quand la réponse d'un partenaire contient des cases masquées, cette réponse n'est pas "
            "dans le fichier : elle montrerait des chiffres ou des raisons de masquage que le secret statistique protège. Le fichier prouve "
            "alors quels partenaires agréés ont contribué et quand, par l'empreinte de leur réponse signée, et le vérificateur indique ce "
            "qu'il n'a pas pu recalculer. Le recalcul complet est fait par un auditeur à partir d'un export de l'exploitant."
        }
        p {
            "Le vérificateur ne dit pas si les données des partenaires sont exactes : chaque institution en répond. La couverture de "
            "l'indicateur (partenaires ayant répondu ou non) est indiquée sur sa fiche."
        }
    };
    Html(page(&ctx, "Vérifier un chiffre", body))
}
