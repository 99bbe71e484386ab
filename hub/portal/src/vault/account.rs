//! Creating an account, signing in and out, and resetting a forgotten
//! password with a professional's code.

use super::*;

pub(super) const TOO_MANY: &str = "Trop de tentatives. Attendez une minute.";

pub(super) const BUSY: &str = "Le service est très sollicité. Réessayez dans un instant.";

/// The three forms shown before any session, each with a fresh
/// double-submit token.
#[derive(Clone, Copy)]
pub(super) enum AccountForm {
    Create,
    SignIn,
    Reset,
}

impl AccountForm {
    fn action(self) -> &'static str {
        match self {
            Self::Create => "/coffre/creer",
            Self::SignIn => "/coffre/connexion",
            Self::Reset => "/coffre/recuperer",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Create => "Créer mon compte",
            Self::SignIn => "Me connecter",
            Self::Reset => "Mot de passe oublié",
        }
    }

    fn button(self) -> &'static str {
        match self {
            Self::Create => "Recevoir un code",
            Self::SignIn => "Me connecter",
            Self::Reset => "Changer mon mot de passe",
        }
    }

    fn intro(self) -> Markup {
        match self {
            Self::Create => html! {
                p { "Un seul compte suffit pour tous vos papiers." }
                p { "Nous allons envoyer un code à votre téléphone (par SMS) ou à votre adresse e-mail, pour vérifier qu'ils sont bien à vous. Ensuite, vous choisirez votre mot de passe." }
                p.note { "Pas de téléphone ni d'adresse e-mail ? Un professionnel d'une institution partenaire peut créer votre compte au guichet." }
            },
            Self::SignIn => html! {},
            Self::Reset => html! {
                p {
                    "Allez voir un professionnel d'une institution partenaire avec une pièce d'identité. "
                    "Il vous donnera un code, valable 30 minutes."
                }
                p.note {
                    "Si vous vous trompez de code de secours, vous pouvez réessayer avec le même code du professionnel ("
                    (accounts::MAX_RESET_ATTEMPTS) " essais en tout). Ensuite, demandez-lui un nouveau code."
                }
            },
        }
    }

    /// The fields after the login.
    fn fields(self) -> Markup {
        match self {
            Self::Create => html! {},
            Self::SignIn => html! {
                p {
                    label for="mdp" { "Mot de passe" } br;
                    input #mdp name="mdp" type="password" autocomplete="current-password" required;
                }
            },
            Self::Reset => html! {
                p {
                    label for="code" { "Le code donné par le professionnel" } br;
                    input #code name="code" autocomplete="one-time-code" required;
                }
                p {
                    label for="secours" { "Votre code de secours, si vous l'avez (sinon laissez vide)" } br;
                    input #secours name="secours";
                }
                (new_password())
            },
        }
    }

    /// The form, its token in a cookie.
    pub(super) fn show(self, ctx: &Ctx, message: Option<&str>, status: StatusCode) -> Response {
        let token = new_token();
        let body = html! {
            h1 { (self.title()) }
            @if let Some(m) = message { (alert(m)) }
            (self.intro())
            form method="post" action=(self.action()) {
                (hidden(&token))
                p {
                    label for="identifiant" { "Numéro de téléphone ou adresse e-mail" } br;
                    input #identifiant name="identifiant" autocomplete="username" inputmode="email" required;
                }
                (self.fields())
                p { button.gros type="submit" { (self.button()) } }
            }
            @if matches!(self, Self::SignIn) { (super::oidc::buttons(ctx)) }
            p { a href="/coffre" { "Retour" } }
        };
        with_form_cookie(status, page(ctx, self.title(), body), &token)
    }
}

fn new_password() -> Markup {
    html! {
        p {
            label for="mdp" { "Choisissez un mot de passe (8 caractères au moins)" } br;
            input #mdp name="mdp" type="password" autocomplete="new-password" minlength="8" required;
        }
        p {
            label for="mdp2" { "Tapez-le une deuxième fois" } br;
            input #mdp2 name="mdp2" type="password" autocomplete="new-password" required;
        }
    }
}

/// GET `/coffre/creer`.
pub async fn create_page(State(ctx): State<Arc<Ctx>>) -> Response {
    AccountForm::Create.show(&ctx, identify::closed(&ctx), StatusCode::OK)
}

/// The page that shows the rescue code, once.
pub fn rescue_page(
    ctx: &Ctx,
    s: Option<&accounts::PersonSession>,
    code: &str,
    intro: Markup,
) -> String {
    vault_page(
        ctx,
        "Votre code de secours",
        s,
        html! {
            h1 { "Votre code de secours" }
            (intro)
            p.code aria-label="code de secours" { (code) }
            p {
                strong { "Notez ce code sur un papier et gardez-le bien." }
                " Il ne sera plus jamais affiché."
            }
            p {
                "Si vous oubliez votre mot de passe, ce code permet de garder les documents que vous avez déposés. "
                "Sans lui, ils seront perdus : personne ne peut les ouvrir à votre place."
            }
            a.gros href="/coffre" { "J'ai noté mon code" }
        },
    )
}

pub(super) async fn limited(ctx: &Ctx, peer: SocketAddr, headers: &HeaderMap) -> bool {
    !ctx.login_limiter
        .handle_attempt(client_key(client_ip(ctx, peer.ip(), headers)), now())
}

/// Opens a session and answers with `html` made for it, the session
/// cookie set.
pub(super) fn open_session(
    ctx: &Ctx,
    account: &vault::store::PersonAccount,
    key: passerelle_protocol::seal::Key,
    t: u64,
    html: impl FnOnce(&accounts::PersonSession) -> String,
) -> Response {
    let ttl = ctx.hub.config.session_ttl.as_secs();
    let (token, s) = ctx.person_sessions.open(account, key, t, ttl);
    with_session(private(StatusCode::OK, html(&s)), &token, ttl)
}

/// GET `/coffre/connexion`.
pub async fn login_page(State(ctx): State<Arc<Ctx>>, person: Option<Person>) -> Response {
    if person.is_some() {
        return redirect("/coffre");
    }
    AccountForm::SignIn.show(&ctx, None, StatusCode::OK)
}

/// POST `/coffre/connexion`.
pub async fn login(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Checked { fields: f, .. }: Checked<FormCookie>,
) -> Response {
    let form = AccountForm::SignIn;
    if limited(&ctx, peer, &headers).await {
        return form.show(&ctx, Some(TOO_MANY), StatusCode::TOO_MANY_REQUESTS);
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        return form.show(&ctx, Some(BUSY), StatusCode::SERVICE_UNAVAILABLE);
    };
    let wrong = "Identifiant ou mot de passe incorrect.";
    let Ok(login) = accounts::normalise_login(f.get("identifiant")) else {
        return form.show(&ctx, Some(wrong), StatusCode::UNAUTHORIZED);
    };
    if !ctx
        .account_limiter
        .handle_attempt(format!("vault:{login}"), now())
    {
        tracing::warn!("vault sign-in over the per-account limit");
        return form.show(&ctx, Some(TOO_MANY), StatusCode::TOO_MANY_REQUESTS);
    }
    match accounts::sign_in(&ctx.vault.store, &login, f.get("mdp")) {
        Ok(Some((account, key))) => {
            let (account, key) = match identify::device_gate(&ctx, &headers, account, key).await {
                Ok(ak) => ak,
                Err(ask_code) => return ask_code,
            };
            super::rights::seen(&ctx, &account.id);
            let ttl = ctx.hub.config.session_ttl.as_secs();
            let (token, _) = ctx.person_sessions.open(&account, key.clone(), now(), ttl);
            let res = signed_in(&token, ttl, "/coffre");
            super::oidc::after_password(&ctx, &headers, &account.id, &key, res)
        }
        Ok(None) => form.show(&ctx, Some(wrong), StatusCode::UNAUTHORIZED),
        Err(error) => {
            tracing::error!(%error, "sign-in failed");
            form.show(
                &ctx,
                Some("La connexion n'a pas pu se faire. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

/// POST `/coffre/deconnexion`.
pub async fn logout(State(ctx): State<Arc<Ctx>>, Checked { by, .. }: Checked<Person>) -> Response {
    ctx.person_sessions.close(&by.token);
    let mut res = redirect("/coffre");
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "pv_session=; HttpOnly; Secure; SameSite=Strict; Path=/coffre; Max-Age=0",
        ),
    );
    res
}

/// GET `/coffre/recuperer`.
pub async fn reset_page(State(ctx): State<Arc<Ctx>>) -> Response {
    AccountForm::Reset.show(&ctx, None, StatusCode::OK)
}

/// POST `/coffre/recuperer`.
pub async fn reset(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Checked { fields: f, .. }: Checked<FormCookie>,
) -> Response {
    let form = AccountForm::Reset;
    if limited(&ctx, peer, &headers).await {
        return form.show(&ctx, Some(TOO_MANY), StatusCode::TOO_MANY_REQUESTS);
    }
    let Ok(login) = accounts::normalise_login(f.get("identifiant")) else {
        return form.show(
            &ctx,
            Some("Ce code n'est pas valable. Demandez un nouveau code à un professionnel."),
            StatusCode::BAD_REQUEST,
        );
    };
    if let Err(m) = accounts::check_password(f.get("mdp"), f.get("mdp2")) {
        return form.show(&ctx, Some(m), StatusCode::BAD_REQUEST);
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        return form.show(&ctx, Some(BUSY), StatusCode::SERVICE_UNAVAILABLE);
    };
    let t = now();
    let rescue = Some(f.get("secours"));
    match accounts::reset(
        &ctx.vault.store,
        &login,
        f.get("code"),
        rescue,
        f.get("mdp"),
        t,
    ) {
        Ok(r) => password_changed(&ctx, r, t),
        Err(vault::VaultError::Refused(r)) => {
            form.show(&ctx, Some(&refusal_french(&r)), StatusCode::BAD_REQUEST)
        }
        Err(error) => {
            tracing::error!(%error, "password reset failed");
            form.show(
                &ctx,
                Some("Le changement n'a pas pu se faire. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

/// After a reset: the old sessions closed, the uploads nobody can open any
/// more removed, a new session, and the new rescue code if there is one.
fn password_changed(ctx: &Ctx, r: accounts::Reset, t: u64) -> Response {
    ctx.person_sessions.close_all(&r.account.id);
    super::oidc::after_reset(ctx, &r.account.id);
    let mut lost = 0;
    if !r.kept_uploads {
        // Nobody can open them any more: remove them for good.
        for u in ctx.vault.store.uploads(&r.account.id).unwrap_or_default() {
            if uploads::delete(&ctx.hub.dir.vault(), &ctx.vault.store, &u).is_ok() {
                lost += 1;
            }
        }
    }
    let detail = format!(
        "code from {}; uploads kept: {}",
        r.code_issued_by, r.kept_uploads
    );
    person_did(ctx, &r.account.id, Action::PasswordReset, "-", detail);
    open_session(ctx, &r.account, r.key, t, |s| match &r.new_rescue_code {
        Some(code) => {
            let intro = html! {
                p {
                    "Votre mot de passe est changé."
                    @if lost > 0 {
                        " Sans votre ancien code de secours, vos " (lost)
                        " document(s) déposé(s) ont été effacés. Les documents des institutions sont toujours là."
                    }
                }
            };
            rescue_page(ctx, Some(s), code, intro)
        }
        None => vault_page(
            ctx,
            "Mot de passe changé",
            Some(s),
            html! {
                h1 { "Mot de passe changé" }
                p { "Vos documents déposés sont toujours là." }
                a.gros href="/coffre" { "Voir mes documents" }
            },
        ),
    })
}
