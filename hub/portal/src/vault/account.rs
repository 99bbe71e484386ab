//! Creating an account, signing in and out, and resetting a forgotten
//! password with a professional's code.

use super::*;

fn account_form(
    ctx: &Ctx,
    action: &str,
    title: &str,
    intro: &str,
    message: Option<&str>,
    extra: &str,
    button: &str,
) -> (String, String) {
    let token = new_token();
    let body = format!(
        "<h1>{title}</h1>{msg}{intro}<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
<p><label for=\"identifiant\">Numéro de téléphone ou adresse e-mail</label><br><input id=\"identifiant\" name=\"identifiant\" autocomplete=\"username\" inputmode=\"email\" required></p>\
{extra}<p><button class=\"gros\" type=\"submit\">{button}</button></p></form><p><a href=\"/coffre\">Retour</a></p>",
        msg = message.map(alert).unwrap_or_default(),
    );
    (page(ctx, title, maud::PreEscaped(body.to_string())), token)
}

const PASSWORD: &str = "<p><label for=\"mdp\">Mot de passe</label><br><input id=\"mdp\" name=\"mdp\" type=\"password\" autocomplete=\"current-password\" required></p>";

const NEW_PASSWORD: &str = "<p><label for=\"mdp\">Choisissez un mot de passe (8 caractères au moins)</label><br><input id=\"mdp\" name=\"mdp\" type=\"password\" autocomplete=\"new-password\" minlength=\"8\" required></p>\
<p><label for=\"mdp2\">Tapez-le une deuxième fois</label><br><input id=\"mdp2\" name=\"mdp2\" type=\"password\" autocomplete=\"new-password\" required></p>";

fn create_form(ctx: &Ctx, message: Option<&str>, status: StatusCode) -> Response {
    let (html, token) = account_form(
        ctx,
        "/coffre/creer",
        "Créer mon compte",
        "<p>Un seul compte suffit pour tous vos papiers.</p>",
        message,
        NEW_PASSWORD,
        "Créer mon compte",
    );
    with_form_cookie(status, html, &token)
}

/// GET `/coffre/creer`.
pub async fn create_page(State(ctx): State<Arc<Ctx>>) -> Response {
    create_form(&ctx, None, StatusCode::OK)
}

/// The page that shows the rescue code, once.
pub fn rescue_page(
    ctx: &Ctx,
    s: Option<&accounts::PersonSession>,
    code: &str,
    intro: &str,
) -> String {
    vault_page(
        ctx,
        "Votre code de secours",
        s,
        &format!(
            "<h1>Votre code de secours</h1>{intro}<p class=\"code\" aria-label=\"code de secours\">{}</p>\
<p><strong>Notez ce code sur un papier et gardez-le bien.</strong> Il ne sera plus jamais affiché.</p>\
<p>Si vous oubliez votre mot de passe, ce code permet de garder les documents que vous avez déposés. Sans lui, ils seront perdus : personne ne peut les ouvrir à votre place.</p>\
<a class=\"gros\" href=\"/coffre\">J'ai noté mon code</a>",
            esc(code)
        ),
    )
}

async fn limited(ctx: &Ctx, peer: SocketAddr, headers: &HeaderMap) -> bool {
    !ctx.login_limiter
        .handle_attempt(client_key(client_ip(ctx, peer.ip(), headers)), now())
}

/// POST `/coffre/creer`.
pub async fn create(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = fields(&body);
    if !form_token_ok(&headers, &f) {
        return refused(&ctx);
    }
    if limited(&ctx, peer, &headers).await {
        return create_form(
            &ctx,
            Some("Trop de tentatives. Attendez une minute."),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let login = match accounts::normalise_login(field(&f, "identifiant")) {
        Ok(l) => l,
        Err(m) => return create_form(&ctx, Some(m), StatusCode::BAD_REQUEST),
    };
    if let Err(m) = accounts::check_password(field(&f, "mdp"), field(&f, "mdp2")) {
        return create_form(&ctx, Some(m), StatusCode::BAD_REQUEST);
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        return create_form(
            &ctx,
            Some("Le service est très sollicité. Réessayez dans un instant."),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };
    let t = now();
    match accounts::create(&ctx.vault.store, &login, field(&f, "mdp"), None, t) {
        Ok(c) => {
            ctx.vault.log(Event { actor: "person".into(), action: "account_create".into(), person: Some(c.account.id.clone()), subject: "-".into(), procedure: None, detail: String::new() });
            let ttl = ctx.hub.config.session_ttl.as_secs();
            let (token, s) = ctx.person_sessions.open(&c.account, c.key, t, ttl);
            let html = rescue_page(&ctx, Some(&s), &c.rescue_code, "<p>Votre compte est créé.</p>");
            with_session(private(StatusCode::OK, html), &token, ttl)
        }
        Err(passerelle_hub_core::HubError::Refused(_)) => create_form(&ctx, Some("Un compte existe déjà avec cet identifiant. Connectez-vous, ou demandez un code de réinitialisation à un professionnel."), StatusCode::CONFLICT),
        Err(error) => {
            tracing::error!(%error, "account not created");
            create_form(&ctx, Some("Le compte n'a pas pu être créé. Réessayez plus tard."), StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

fn login_form(ctx: &Ctx, message: Option<&str>, status: StatusCode) -> Response {
    let (html, token) = account_form(
        ctx,
        "/coffre/connexion",
        "Me connecter",
        "",
        message,
        PASSWORD,
        "Me connecter",
    );
    with_form_cookie(status, html, &token)
}

/// GET `/coffre/connexion`.
pub async fn login_page(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    if session(&ctx, &headers).is_some() {
        return to_start();
    }
    login_form(&ctx, None, StatusCode::OK)
}

/// POST `/coffre/connexion`.
pub async fn login(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = fields(&body);
    if !form_token_ok(&headers, &f) {
        return refused(&ctx);
    }
    if limited(&ctx, peer, &headers).await {
        return login_form(
            &ctx,
            Some("Trop de tentatives. Attendez une minute."),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        return login_form(
            &ctx,
            Some("Le service est très sollicité. Réessayez dans un instant."),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };
    let wrong = "Identifiant ou mot de passe incorrect.";
    let Ok(login) = accounts::normalise_login(field(&f, "identifiant")) else {
        return login_form(&ctx, Some(wrong), StatusCode::UNAUTHORIZED);
    };
    match accounts::sign_in(&ctx.vault.store, &login, field(&f, "mdp")) {
        Ok(Some((account, key))) => {
            let ttl = ctx.hub.config.session_ttl.as_secs();
            let (token, _) = ctx.person_sessions.open(&account, key, now(), ttl);
            signed_in(&token, ttl, "/coffre")
        }
        Ok(None) => login_form(&ctx, Some(wrong), StatusCode::UNAUTHORIZED),
        Err(error) => {
            tracing::error!(%error, "sign-in failed");
            login_form(
                &ctx,
                Some("La connexion n'a pas pu se faire. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

/// POST `/coffre/deconnexion`.
pub async fn logout(State(ctx): State<Arc<Ctx>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some((token, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    if !csrf_ok(&s, &fields(&body)) {
        return refused(&ctx);
    }
    ctx.person_sessions.close(&token);
    let mut res = back("/coffre");
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "pv_session=; HttpOnly; Secure; SameSite=Strict; Path=/coffre; Max-Age=0",
        ),
    );
    res
}

const RESET_FIELDS: &str = "<p><label for=\"code\">Le code donné par le professionnel</label><br><input id=\"code\" name=\"code\" autocomplete=\"one-time-code\" required></p>\
<p><label for=\"secours\">Votre code de secours, si vous l'avez (sinon laissez vide)</label><br><input id=\"secours\" name=\"secours\"></p>";

fn reset_form(ctx: &Ctx, message: Option<&str>, status: StatusCode) -> Response {
    let (html, token) = account_form(
        ctx,
        "/coffre/recuperer",
        "Mot de passe oublié",
        "<p>Allez voir un professionnel d'une institution partenaire avec une pièce d'identité. Il vous donnera un code, valable 30 minutes.</p>",
        message,
        &format!("{RESET_FIELDS}{NEW_PASSWORD}"),
        "Changer mon mot de passe",
    );
    with_form_cookie(status, html, &token)
}

/// GET `/coffre/recuperer`.
pub async fn reset_page(State(ctx): State<Arc<Ctx>>) -> Response {
    reset_form(&ctx, None, StatusCode::OK)
}

/// POST `/coffre/recuperer`.
pub async fn reset(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = fields(&body);
    if !form_token_ok(&headers, &f) {
        return refused(&ctx);
    }
    if limited(&ctx, peer, &headers).await {
        return reset_form(
            &ctx,
            Some("Trop de tentatives. Attendez une minute."),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let Ok(login) = accounts::normalise_login(field(&f, "identifiant")) else {
        return reset_form(
            &ctx,
            Some("Ce code n'est pas valable. Demandez un nouveau code à un professionnel."),
            StatusCode::BAD_REQUEST,
        );
    };
    if let Err(m) = accounts::check_password(field(&f, "mdp"), field(&f, "mdp2")) {
        return reset_form(&ctx, Some(m), StatusCode::BAD_REQUEST);
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        return reset_form(
            &ctx,
            Some("Le service est très sollicité. Réessayez dans un instant."),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };
    let t = now();
    let rescue = Some(field(&f, "secours"));
    match accounts::reset(
        &ctx.vault.store,
        &login,
        field(&f, "code"),
        rescue,
        field(&f, "mdp"),
        t,
    ) {
        Ok(r) => {
            ctx.person_sessions.close_all(&r.account.id);
            let mut lost = 0;
            if !r.kept_uploads {
                // Nobody can open them any more: remove them for good.
                for u in ctx.vault.store.uploads(&r.account.id).unwrap_or_default() {
                    if uploads::delete(&ctx.hub.dir.vault(), &ctx.vault.store, &u).is_ok() {
                        lost += 1;
                    }
                }
            }
            ctx.vault.log(Event {
                actor: "person".into(),
                action: "password_reset".into(),
                person: Some(r.account.id.clone()),
                subject: "-".into(),
                procedure: None,
                detail: format!(
                    "code from {}; uploads kept: {}",
                    r.code_issued_by, r.kept_uploads
                ),
            });
            let ttl = ctx.hub.config.session_ttl.as_secs();
            let (token, s) = ctx.person_sessions.open(&r.account, r.key, t, ttl);
            let html = match &r.new_rescue_code {
                Some(code) => rescue_page(&ctx, Some(&s), code, &format!("<p>Votre mot de passe est changé.{}</p>", if lost > 0 { format!(" Sans votre ancien code de secours, vos {lost} document(s) déposé(s) ont été effacés. Les documents des institutions sont toujours là.") } else { String::new() })),
                None => vault_page(&ctx, "Mot de passe changé", Some(&s), "<h1>Mot de passe changé</h1><p>Vos documents déposés sont toujours là.</p><a class=\"gros\" href=\"/coffre\">Voir mes documents</a>"),
            };
            with_session(private(StatusCode::OK, html), &token, ttl)
        }
        Err(passerelle_hub_core::HubError::Refused(m)) => {
            reset_form(&ctx, Some(&m), StatusCode::BAD_REQUEST)
        }
        Err(error) => {
            tracing::error!(%error, "password reset failed");
            reset_form(
                &ctx,
                Some("Le changement n'a pas pu se faire. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}
