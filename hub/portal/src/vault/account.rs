//! Creating an account, signing in and out, and resetting a forgotten
//! password with a professional's code.

use super::*;

/// The vault's own refusals of a login or a password (French sentences
/// in `passerelle-vault`), with the key of each in the translation files.
const VAULT_WORDS: &[(&str, &str)] = &[
    ("Cette adresse e-mail n'est pas valide.", "compte-email-invalide"),
    (
        "Tapez un numéro de téléphone à 10 chiffres (par exemple 0639 12 34 56) ou une adresse e-mail.",
        "compte-identifiant-invalide",
    ),
    (
        "Le mot de passe doit avoir au moins 8 caractères.",
        "compte-mot-de-passe-court",
    ),
    (
        "Les deux mots de passe ne sont pas identiques.",
        "compte-mots-de-passe-differents",
    ),
];

/// A refusal of the vault in the reader's language (as the vault wrote
/// it when no translation file has it).
fn vault_words(m: &str) -> String {
    VAULT_WORDS
        .iter()
        .find(|(french, _)| *french == m)
        .map_or_else(|| m.to_string(), |(_, key)| Tr::current().t(key))
}

/// Too many attempts from one address or for one account.
fn too_many() -> String {
    Tr::current().t("compte-trop-de-tentatives")
}

/// Too many password checks at once.
fn busy() -> String {
    Tr::current().t("compte-service-occupe")
}

/// The same words for the code pages of `identify` (in French there).
pub(super) const TOO_MANY: &str = "Trop de tentatives. Attendez une minute.";

/// See [`TOO_MANY`].
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

    fn title(self, tr: &Tr) -> String {
        match self {
            Self::Create => tr.t("compte-creer"),
            Self::SignIn => tr.t("compte-connexion"),
            Self::Reset => tr.t("compte-oubli-titre"),
        }
    }

    fn button(self, tr: &Tr) -> Markup {
        match self {
            Self::Create => html! { (icon(Icon::Account)) (tr.t("compte-recevoir-code")) },
            Self::SignIn => html! { (icon(Icon::Account)) (tr.t("compte-connexion")) },
            Self::Reset => html! { (tr.t("compte-oubli-bouton")) },
        }
    }

    fn intro(self, tr: &Tr) -> Markup {
        match self {
            Self::Create => html! {
                p { (tr.t("compte-creer-intro")) }
                p { (tr.t("compte-creer-code")) }
                p.note { (tr.t("compte-creer-au-guichet")) }
            },
            Self::SignIn => html! {},
            Self::Reset => html! {
                p { (tr.t("compte-oubli-intro")) }
                p.note {
                    (tr.a("compte-oubli-essais", &[("essais", accounts::MAX_RESET_ATTEMPTS.into())]))
                }
            },
        }
    }

    /// The fields after the login.
    fn fields(self, tr: &Tr) -> Markup {
        match self {
            Self::Create => html! {},
            Self::SignIn => html! {
                p {
                    label for="mdp" { (tr.t("compte-mot-de-passe")) } br;
                    input #mdp name="mdp" type="password" autocomplete="current-password" required;
                }
            },
            Self::Reset => html! {
                p {
                    label for="code" { (tr.t("compte-code-professionnel")) } br;
                    input #code name="code" autocomplete="one-time-code" required;
                }
                p {
                    label for="secours" { (tr.t("compte-code-secours-champ")) } br;
                    input #secours name="secours";
                }
                (new_password(tr))
            },
        }
    }

    /// The form, its token in a cookie.
    pub(super) fn show(self, ctx: &Ctx, message: Option<&str>, status: StatusCode) -> Response {
        let tr = Tr::current();
        let token = passerelle_web::csrf::token();
        let title = self.title(&tr);
        let body = html! {
            h1 { (title) }
            @if let Some(m) = message { (alert(m)) }
            (self.intro(&tr))
            form method="post" action=(self.action()) {
                (hidden(&token))
                p {
                    label for="identifiant" { (tr.t("compte-identifiant")) } br;
                    input #identifiant name="identifiant" autocomplete="username" inputmode="email" required;
                }
                (self.fields(&tr))
                p { button.gros type="submit" { (self.button(&tr)) } }
            }
            @if matches!(self, Self::SignIn) { (super::oidc::buttons(ctx)) }
            p { a href="/coffre" { (tr.t("coffre-retour")) } }
        };
        with_form_cookie(status, page(ctx, &title, body), &token)
    }
}

fn new_password(tr: &Tr) -> Markup {
    html! {
        p {
            label for="mdp" { (tr.t("compte-nouveau-mot-de-passe")) } br;
            input #mdp name="mdp" type="password" autocomplete="new-password" minlength="8" required;
        }
        p {
            label for="mdp2" { (tr.t("compte-mot-de-passe-encore")) } br;
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
    let tr = Tr::current();
    vault_page(
        ctx,
        &tr.t("secours-titre"),
        s,
        html! {
            h1 { (tr.t("secours-titre")) }
            (intro)
            p.code aria-label=(tr.t("secours-code-nom")) { (code) }
            p {
                strong { (tr.t("secours-notez")) }
                " " (tr.t("secours-plus-affiche"))
            }
            p { (tr.t("secours-pourquoi")) }
            a.gros href="/coffre" { (tr.t("secours-note")) }
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
        return form.show(&ctx, Some(&too_many()), StatusCode::TOO_MANY_REQUESTS);
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        return form.show(&ctx, Some(&busy()), StatusCode::SERVICE_UNAVAILABLE);
    };
    let wrong = Tr::current().t("compte-mauvais-mot-de-passe");
    let Ok(login) = accounts::normalise_login(f.get("identifiant")) else {
        return form.show(&ctx, Some(&wrong), StatusCode::UNAUTHORIZED);
    };
    if !ctx
        .account_limiter
        .handle_attempt(format!("vault:{login}"), now())
    {
        tracing::warn!("vault sign-in over the per-account limit");
        return form.show(&ctx, Some(&too_many()), StatusCode::TOO_MANY_REQUESTS);
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
        Ok(None) => form.show(&ctx, Some(&wrong), StatusCode::UNAUTHORIZED),
        Err(error) => {
            tracing::error!(%error, "sign-in failed");
            form.show(
                &ctx,
                Some(&Tr::current().t("compte-connexion-impossible")),
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
        return form.show(&ctx, Some(&too_many()), StatusCode::TOO_MANY_REQUESTS);
    }
    let Ok(login) = accounts::normalise_login(f.get("identifiant")) else {
        return form.show(
            &ctx,
            Some(&Tr::current().t("refus-code-reinitialisation")),
            StatusCode::BAD_REQUEST,
        );
    };
    if let Err(m) = accounts::check_password(f.get("mdp"), f.get("mdp2")) {
        return form.show(&ctx, Some(&vault_words(m)), StatusCode::BAD_REQUEST);
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        return form.show(&ctx, Some(&busy()), StatusCode::SERVICE_UNAVAILABLE);
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
                Some(&Tr::current().t("compte-changement-impossible")),
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
    let mut lost: u32 = 0;
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
    let tr = Tr::current();
    open_session(ctx, &r.account, r.key, t, |s| match &r.new_rescue_code {
        Some(code) => {
            let intro = html! {
                p {
                    (tr.t("compte-mot-de-passe-change-phrase"))
                    @if lost > 0 {
                        " " (tr.a("compte-depots-effaces", &[("nombre", lost.into())]))
                    }
                }
            };
            rescue_page(ctx, Some(s), code, intro)
        }
        None => vault_page(
            ctx,
            &tr.t("compte-mot-de-passe-change"),
            Some(s),
            html! {
                h1 { (tr.t("compte-mot-de-passe-change")) }
                p { (tr.t("compte-depots-gardes")) }
                a.gros href="/coffre" { (icon(Icon::Documents)) (tr.t("compte-voir-documents")) }
            },
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vaults_refusals_have_their_words_in_the_translation_files() {
        let refusals = [
            accounts::normalise_login("pas une adresse@").unwrap_err(),
            accounts::normalise_login("12").unwrap_err(),
            accounts::check_password("court", "court").unwrap_err(),
            accounts::check_password("un mot de passe", "un autre").unwrap_err(),
        ];
        for m in refusals {
            let (_, key) = VAULT_WORDS
                .iter()
                .find(|(french, _)| *french == m)
                .unwrap_or_else(|| panic!("no key for {m:?}"));
            // French says what the vault says.
            assert_eq!(Tr::FR.t(key), m);
        }
        assert_eq!(vault_words("autre chose"), "autre chose");
    }
}
