//! The legal pages, in plain French, linked from every page's footer:
//! mentions légales, données personnelles (who processes what, why, for
//! how long, the person's rights and whom to write to) and the
//! accessibility statement (RGAA). What the operator must fill in (the
//! contact) comes from `hub.toml`; what is not established yet is said so.

use std::sync::Arc;

use axum::{extract::State, response::Html, routing::get, Router};
use maud::{html, Markup};

use crate::{layout::page, state::Ctx};

/// `/mentions-legales`, `/donnees-personnelles`, `/accessibilite`.
pub fn router() -> Router<Arc<Ctx>> {
    Router::new()
        .route("/mentions-legales", get(notice))
        .route("/donnees-personnelles", get(personal_data))
        .route("/accessibilite", get(accessibility))
}

/// Whom to write to: the configured contact, or a plain statement that
/// the operator has not given one yet.
fn contact(ctx: &Ctx) -> Markup {
    match &ctx.hub.config.contact {
        Some(c) if c.contains('@') && !c.contains(char::is_whitespace) => {
            html! { a href={ "mailto:" (c) } { (c) } }
        }
        Some(c) => html! { (c) },
        None => html! {
            "l'adresse de contact n'a pas encore été indiquée par "
            (ctx.hub.config.name) " (réglage " code { "contact" } ")"
        },
    }
}

async fn notice(State(ctx): State<Arc<Ctx>>) -> Html<String> {
    let body = html! {
        h1 { "Mentions légales" }
        h2 { "Qui publie ce site" }
        p {
            "Ce site est publié par " strong { (ctx.hub.config.name) } ", qui fait fonctionner le réseau Passerelle "
            "avec les institutions partenaires de Mayotte."
        }
        p { "Pour écrire : " (contact(&ctx)) "." }
        h2 { "Hébergement" }
        p {
            "Le site fonctionne sur les serveurs choisis par " (ctx.hub.config.name) ". "
            "Les documents des institutions restent chez elles : elles les gardent sur leurs propres serveurs."
        }
        h2 { "Les chiffres publiés" }
        p {
            "Les chiffres sont calculés à partir de données regroupées par les institutions partenaires. "
            "Aucun chiffre ne permet de reconnaître une personne : les trop petits nombres sont masqués. "
            "Vous pouvez réutiliser les données ouvertes ("
            a href="/donnees" { "Données ouvertes" } ") en citant la source."
        }
        p { a href="/donnees-personnelles" { "Vos données personnelles" } " · " a href="/accessibilite" { "Accessibilité" } }
    };
    Html(page(&ctx, "Mentions légales", body))
}

async fn personal_data(State(ctx): State<Arc<Ctx>>) -> Html<String> {
    let ttl_hours = ctx.hub.config.session_ttl.as_secs() / 3600;
    let body = html! {
        h1 { "Vos données personnelles" }
        p {
            "Cette page dit, simplement, ce que le site fait de vos informations. "
            "Le responsable est " strong { (ctx.hub.config.name) } "."
        }
        h2 { "Les chiffres de l'observatoire" }
        p {
            "Les institutions ne transmettent que des totaux par commune et par trimestre. "
            "Aucune information sur une personne ne quitte l'institution pour ces chiffres, "
            "et les totaux trop petits ne sont jamais publiés."
        }
        h2 { "Votre coffre-fort (si vous en ouvrez un)" }
        ul {
            li { strong { "Ce que nous gardons : " } "votre identifiant (téléphone ou adresse e-mail), votre mot de passe sous une forme que personne ne peut relire, les documents que vous déposez (chiffrés : seul votre mot de passe ou votre code de secours permet de les ouvrir), vos partages et le journal des accès." }
            li { strong { "Pourquoi : " } "pour que vous puissiez voir et partager les papiers que les institutions ont sur vous, et garder les vôtres." }
            li { strong { "Qui peut voir vos documents : " } "vous, et les professionnels à qui vous avez donné votre accord, pour la durée et la démarche que vous avez choisies. Chaque consultation est inscrite dans votre journal." }
            li { strong { "Combien de temps : " } "vos documents et vos partages restent jusqu'à ce que vous les supprimiez ; une connexion dure au plus " (ttl_hours) " heures. Le journal des accès est gardé sans limite pour l'instant : sa durée de conservation reste à fixer par le responsable." }
        }
        h2 { "Vos droits" }
        p {
            "Vous pouvez voir vos informations, les corriger, les télécharger (bouton « Tout télécharger » dans votre coffre), "
            "retirer un partage à tout moment, et demander leur effacement. "
            "Pour toute demande, écrivez à : " (contact(&ctx)) "."
        }
        p {
            "Si vous pensez que vos droits ne sont pas respectés, vous pouvez vous adresser à la CNIL ("
            a href="https://www.cnil.fr/fr/plaintes" { "www.cnil.fr" } ")."
        }
    };
    Html(page(&ctx, "Vos données personnelles", body))
}

async fn accessibility(State(ctx): State<Arc<Ctx>>) -> Html<String> {
    let body = html! {
        h1 { "Accessibilité" }
        p {
            (ctx.hub.config.name) " veut que ce site soit utilisable par tous, y compris avec un lecteur d'écran, "
            "au clavier seul ou sur un petit téléphone."
        }
        h2 { "État de conformité" }
        p {
            "Le site n'a pas encore fait l'objet d'un audit complet selon le référentiel général d'amélioration de l'accessibilité (RGAA). "
            "Il est donc, à ce jour, " strong { "non conforme" } " au sens de la réglementation, faute d'audit."
        }
        p {
            "Ce qui est déjà vérifié à chaque version : les pages principales sont contrôlées automatiquement "
            "(outil axe-core dans un vrai navigateur), on peut aller directement au contenu avec le lien « Aller au contenu », "
            "les formulaires ont des étiquettes, les cartes ont leur tableau de chiffres."
        }
        h2 { "Signaler un problème" }
        p {
            "Si vous n'arrivez pas à utiliser une page ou à obtenir un document, écrivez à : " (contact(&ctx))
            ". Nous vous répondrons et vous donnerons l'information sous une autre forme."
        }
        h2 { "Si vous n'avez pas de réponse" }
        p {
            "Vous pouvez contacter le Défenseur des droits ("
            a href="https://formulaire.defenseurdesdroits.fr/" { "formulaire en ligne" }
            ") ou écrire gratuitement, sans timbre, à : Défenseur des droits, Libre réponse 71120, 75342 Paris CEDEX 07."
        }
    };
    Html(page(&ctx, "Accessibilité", body))
}
