//! Codes sent to the person's phone or e-mail: creating an account
//! (the identifier is verified before the account exists, and the pages
//! answer the same whether or not an account already has it), and, for
//! those who asked, signing in from a device not seen before.
//!
//! The step in progress is named by a random token in the `pv_etape`
//! cookie; a device confirmed with a code by another in `pv_connu` (apart
//! from FranceConnect's `pv_appareil`, which holds a key). Both are
//! `HttpOnly`, `Secure`, `SameSite=Strict`, limited to `/coffre`.
//!
//! Typing a code does not count against the per-address sign-in limit:
//! each step allows [`verify::MAX_ATTEMPTS`] tries, and starting one
//! (asking for a code, or signing in with the password) counts against
//! it.

use std::{collections::HashMap, sync::Mutex};

use passerelle_protocol::{seal::Key, sign::sha256};
use passerelle_vault::{
    notify::{Delivery, Identifier, Message},
    store::PersonAccount,
    verify::{self, Checked as Verified},
};

use super::{
    account::{limited, open_session, AccountForm, BUSY, TOO_MANY},
    *,
};
use crate::partner::cookies;

/// The cookie naming the step in progress.
const STEP: &str = "pv_etape";
/// The cookie naming a device the person confirmed with a code.
const DEVICE: &str = "pv_connu";
/// How long a device stays confirmed (400 days, the longest a browser
/// keeps a cookie).
const DEVICE_TTL: u64 = 400 * 86_400;
/// Sign-ins waiting for a code, at most, all persons together.
const MAX_DEVICE_CHECKS: usize = 10_000;

const GONE: &str = "Ce code n'est plus valable (trop d'essais, ou un nouveau code a été demandé). Recommencez pour recevoir un nouveau code.";

fn cookie(name: &str, value: &str, max_age: u64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}={value}; HttpOnly; Secure; SameSite=Strict; Path=/coffre; Max-Age={max_age}"
    ))
    .ok()
}

fn with_cookie(mut res: Response, name: &str, value: &str, max_age: u64) -> Response {
    if let Some(v) = cookie(name, value, max_age) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// What a demonstration shows instead of sending.
fn shown(message: Option<&Message>) -> Markup {
    html! {
        @if let Some(m) = message {
            div.demo role="note" {
                p { strong { "Démonstration : " } "aucun envoi de SMS ni d'e-mail n'est configuré. Voici le message qui aurait été envoyé :" }
                p #message-demo { (m.text) }
            }
        }
    }
}

/// The page where the code is typed (creation: with the new password).
fn code_page(
    ctx: &Ctx,
    message: Option<&str>,
    demo: Option<&Message>,
    status: StatusCode,
    creating: bool,
) -> Response {
    let token = passerelle_web::csrf::token();
    let (title, action) = if creating {
        ("Créer mon compte", "/coffre/creer/code")
    } else {
        ("Me connecter", "/coffre/connexion/code")
    };
    let body = html! {
        h1 { (title) }
        @if let Some(m) = message { (alert(m)) }
        (shown(demo))
        @if creating {
            p {
                "Si ce numéro ou cette adresse peut recevoir un message, nous venons d'y envoyer un code à "
                (verify::DIGITS) " chiffres. Tapez-le ci-dessous (il est valable "
                (verify::TTL / 60) " minutes), puis choisissez votre mot de passe."
            }
            p.note { "Si vous avez déjà un compte, le message vous le dit : connectez-vous plutôt." }
        } @else {
            p {
                "Vous vous connectez depuis un appareil que nous ne connaissons pas. Nous venons d'envoyer un code à "
                (verify::DIGITS) " chiffres à votre numéro ou à votre adresse (il est valable "
                (verify::TTL / 60) " minutes)."
            }
        }
        form method="post" action=(action) {
            (hidden(&token))
            p {
                label for="code" { "Le code reçu" } br;
                input #code name="code" inputmode="numeric" autocomplete="one-time-code" required;
            }
            @if creating {
                p {
                    label for="mdp" { "Choisissez un mot de passe (8 caractères au moins)" } br;
                    input #mdp name="mdp" type="password" autocomplete="new-password" minlength="8" required;
                }
                p {
                    label for="mdp2" { "Tapez-le une deuxième fois" } br;
                    input #mdp2 name="mdp2" type="password" autocomplete="new-password" required;
                }
            }
            p { button.gros type="submit" { (if creating { "Créer mon compte" } else { "Me connecter" }) } }
        }
        p {
            "Pas de message ? Vérifiez le numéro ou l'adresse et "
            a href=(if creating { "/coffre/creer" } else { "/coffre/connexion" }) { "recommencez" } "."
        }
    };
    with_form_cookie(status, vault_page(ctx, title, None, body), &token)
}

/// Sends a message in the background, so that the answer takes the same
/// time whatever is sent; or, when nothing can send it and the hub shows
/// messages (demonstration, tests), returns it to show.
async fn dispatch(ctx: &Ctx, to: Identifier, message: Message) -> Option<Message> {
    if ctx.senders.sender(&to).is_none() {
        return match ctx.senders.send(&to, &message).await {
            Ok(Delivery::Shown(m)) => Some(m),
            _ => None,
        };
    }
    let senders = ctx.senders.clone();
    tokio::spawn(async move {
        if let Err(error) = senders.send(&to, &message).await {
            tracing::warn!(%error, "code not sent");
        }
    });
    None
}

/// Why online creation is closed, when no code can reach anyone.
pub(super) fn closed(ctx: &Ctx) -> Option<&'static str> {
    let reaches = |login: &str| ctx.senders.can_reach(&Identifier::of_login(login));
    (!reaches("0639000000") && !reaches("a@b.fr")).then_some(
        "La création de compte en ligne n'est pas encore ouverte : un professionnel d'une institution partenaire peut créer votre compte au guichet.",
    )
}

/// POST `/coffre/creer`: sends a code, or a message saying an account
/// exists; the answer is the same either way.
pub async fn create(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Checked { fields: f, .. }: Checked<FormCookie>,
) -> Response {
    let form = AccountForm::Create;
    if limited(&ctx, peer, &headers).await {
        return form.show(&ctx, Some(TOO_MANY), StatusCode::TOO_MANY_REQUESTS);
    }
    let login = match accounts::normalise_login(f.get("identifiant")) {
        Ok(l) => l,
        Err(m) => return form.show(&ctx, Some(m), StatusCode::BAD_REQUEST),
    };
    let to = Identifier::of_login(&login);
    if !ctx.senders.can_reach(&to) {
        let what = match to {
            Identifier::Email(_) => "par e-mail",
            Identifier::Phone(_) => "par SMS",
        };
        return form.show(
            &ctx,
            Some(&format!("L'envoi de codes {what} n'est pas encore possible. Essayez avec votre autre identifiant, ou demandez à un professionnel d'une institution partenaire de créer votre compte au guichet.")),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    }
    let t = now();
    if !ctx.code_limiter.handle_attempt(format!("code:{login}"), t) {
        return form.show(
            &ctx,
            Some("Un code vient d'être demandé pour ce numéro ou cette adresse. Attendez une minute avant d'en demander un autre."),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let started = match verify::start(&ctx.vault.store, &login, t) {
        Ok(Some(s)) => s,
        Ok(None) => return form.show(&ctx, Some(BUSY), StatusCode::SERVICE_UNAVAILABLE),
        Err(error) => {
            tracing::error!(%error, "verification not started");
            return form.show(
                &ctx,
                Some("Le code n'a pas pu être envoyé. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
    };
    let words = ctx.words();
    let message = match &started.code {
        Some(code) => words.code(code),
        None => words.account_exists(),
    };
    let demo = dispatch(&ctx, to, message).await;
    with_cookie(
        code_page(&ctx, None, demo.as_ref(), StatusCode::OK, true),
        STEP,
        &started.token,
        verify::TTL,
    )
}

/// POST `/coffre/creer/code`: the code and the password; the account is
/// created when the code is right.
pub async fn create_code(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Checked { fields: f, .. }: Checked<FormCookie>,
) -> Response {
    let Some(token) = cookies(&headers).remove(STEP) else {
        return AccountForm::Create.show(&ctx, Some(GONE), StatusCode::BAD_REQUEST);
    };
    if let Err(m) = accounts::check_password(f.get("mdp"), f.get("mdp2")) {
        return code_page(&ctx, Some(m), None, StatusCode::BAD_REQUEST, true);
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        return code_page(
            &ctx,
            Some(BUSY),
            None,
            StatusCode::SERVICE_UNAVAILABLE,
            true,
        );
    };
    let t = now();
    let store = &ctx.vault.store;
    let login = match verify::check(store, &token, f.get("code"), t) {
        Ok(Verified::Verified(login)) => login,
        Ok(Verified::Wrong { attempts_left }) if attempts_left > 0 => {
            let m = format!(
                "Ce code n'est pas le bon. Vérifiez-le et réessayez (encore {attempts_left} essai{}).",
                if attempts_left > 1 { "s" } else { "" }
            );
            return code_page(&ctx, Some(&m), None, StatusCode::BAD_REQUEST, true);
        }
        Ok(Verified::Expired) => {
            return AccountForm::Create.show(
                &ctx,
                Some("Ce code a expiré. Recommencez pour recevoir un nouveau code."),
                StatusCode::BAD_REQUEST,
            )
        }
        Ok(_) => return AccountForm::Create.show(&ctx, Some(GONE), StatusCode::BAD_REQUEST),
        Err(error) => {
            tracing::error!(%error, "code not checked");
            return code_page(
                &ctx,
                Some("Le code n'a pas pu être vérifié. Réessayez plus tard."),
                None,
                StatusCode::INTERNAL_SERVER_ERROR,
                true,
            );
        }
    };
    // Used up before the account exists: one code, one account.
    if !matches!(verify::finish(store, &token), Ok(true)) {
        return AccountForm::Create.show(&ctx, Some(GONE), StatusCode::BAD_REQUEST);
    }
    match accounts::create(store, &login, f.get("mdp"), None, t) {
        Ok(c) => {
            let detail = "identifier verified with a code".to_string();
            person_did(&ctx, &c.account.id, Action::AccountCreate, "-", detail);
            let res = open_session(&ctx, &c.account, c.key, t, |s| {
                let intro = html! { p { "Votre compte est créé." } };
                rescue_page(&ctx, Some(s), &c.rescue_code, intro)
            });
            with_cookie(res, STEP, "", 0)
        }
        Err(vault::VaultError::Refused(vault::Refusal::LoginTaken)) => {
            AccountForm::Create.show(&ctx, Some(GONE), StatusCode::BAD_REQUEST)
        }
        Err(error) => {
            tracing::error!(%error, "account not created");
            AccountForm::Create.show(
                &ctx,
                Some("Le compte n'a pas pu être créé. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

/// A sign-in waiting for its code.
struct Waiting {
    account: PersonAccount,
    key: Key,
    code_mac: [u8; 32],
    expires_at: u64,
    attempts: u32,
}

/// Sign-ins waiting for a code from a new device, in memory (each holds
/// the person's data key until the code comes or expires), keyed by the
/// SHA-256 of the step's token.
#[derive(Default)]
pub struct DeviceChecks {
    map: Mutex<HashMap<[u8; 32], Waiting>>,
}

fn code_mac(token: &str, code: &str) -> [u8; 32] {
    sha256(format!("{token}:{}", verify::digits(code)).as_bytes())
}

impl DeviceChecks {
    fn start(&self, account: PersonAccount, key: Key, code: &str, now: u64) -> Option<String> {
        let token = passerelle_web::csrf::token();
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, w| w.expires_at > now && w.account.id != account.id);
        if map.len() >= MAX_DEVICE_CHECKS {
            return None;
        }
        map.insert(
            sha256(token.as_bytes()),
            Waiting {
                account,
                key,
                code_mac: code_mac(&token, code),
                expires_at: now + verify::TTL,
                attempts: 0,
            },
        );
        Some(token)
    }

    /// The account and key when the code is right; else the tries left
    /// (`Err(0)`: start again).
    fn check(&self, token: &str, code: &str, now: u64) -> Result<(PersonAccount, Key), u32> {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let k = sha256(token.as_bytes());
        let Some(w) = map.get_mut(&k) else {
            return Err(0);
        };
        w.attempts += 1;
        let right =
            passerelle_protocol::sign::constant_time_eq(&w.code_mac, &code_mac(token, code));
        if w.expires_at <= now || (!right && w.attempts >= verify::MAX_ATTEMPTS) {
            map.remove(&k);
            return Err(0);
        }
        if right {
            return map.remove(&k).map(|w| (w.account, w.key)).ok_or(0);
        }
        Err(verify::MAX_ATTEMPTS - w.attempts)
    }
}

/// After the password, at sign-in: the account and key to open a session
/// with, or, for a person who asked for a code from new devices and signs
/// in from one, the page asking for the code just sent.
pub(super) async fn device_gate(
    ctx: &Ctx,
    headers: &HeaderMap,
    account: PersonAccount,
    key: Key,
) -> Result<(PersonAccount, Key), Response> {
    let store = &ctx.vault.store;
    if !store
        .preferences(&account.id)
        .is_ok_and(|p| p.new_device_code)
    {
        return Ok((account, key));
    }
    if let Some(d) = cookies(headers).remove(DEVICE) {
        if store
            .known_device(&account.id, &sha256(d.as_bytes()))
            .unwrap_or(false)
        {
            return Ok((account, key));
        }
    }
    let to = Identifier::of_login(&account.login);
    if !ctx.senders.can_reach(&to) {
        // The sender was removed since the person chose this: a code
        // nobody can send would lock them out for good.
        tracing::warn!("code from a new device asked, but no sender reaches the person");
        return Ok((account, key));
    }
    let code = verify::new_code();
    let message = ctx.words().sign_in_code(&code);
    let Some(token) = ctx.device_checks.start(account, key, &code, now()) else {
        return Err(AccountForm::SignIn.show(ctx, Some(BUSY), StatusCode::SERVICE_UNAVAILABLE));
    };
    // Sent in the background: the sign-in holds a password check's place.
    let demo = dispatch(ctx, to, message).await;
    Err(with_cookie(
        code_page(ctx, None, demo.as_ref(), StatusCode::OK, false),
        STEP,
        &token,
        verify::TTL,
    ))
}

/// POST `/coffre/connexion/code`: the code sent for a new device.
pub async fn sign_in_code(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Checked { fields: f, .. }: Checked<FormCookie>,
) -> Response {
    let token = cookies(&headers).remove(STEP).unwrap_or_default();
    let t = now();
    match ctx.device_checks.check(&token, f.get("code"), t) {
        Ok((account, key)) => {
            let device = remember_device(&ctx, &account.id, t);
            let ttl = ctx.hub.config.session_ttl.as_secs();
            let (session_token, _) = ctx.person_sessions.open(&account, key, t, ttl);
            let res = with_cookie(signed_in(&session_token, ttl, "/coffre"), STEP, "", 0);
            match device {
                Some(d) => with_cookie(res, DEVICE, &d, DEVICE_TTL),
                None => res,
            }
        }
        Err(0) => AccountForm::SignIn.show(&ctx, Some(GONE), StatusCode::BAD_REQUEST),
        Err(left) => code_page(
            &ctx,
            Some(&format!(
                "Ce code n'est pas le bon. Vérifiez-le et réessayez (encore {left} essai{}).",
                if left > 1 { "s" } else { "" }
            )),
            None,
            StatusCode::BAD_REQUEST,
            false,
        ),
    }
}

/// Records a new confirmed device of a person; its token for the cookie.
pub(super) fn remember_device(ctx: &Ctx, person: &str, t: u64) -> Option<String> {
    let token = passerelle_web::csrf::token();
    match ctx
        .vault
        .store
        .put_device(person, &sha256(token.as_bytes()), t)
    {
        Ok(()) => Some(token),
        Err(error) => {
            tracing::warn!(%error, "device not remembered");
            None
        }
    }
}

/// Adds the cookie of a confirmed device to a response.
pub(super) fn with_device(res: Response, token: &str) -> Response {
    with_cookie(res, DEVICE, token, DEVICE_TTL)
}

/// Whether this browser is a device the person confirmed.
pub(super) fn known_device(ctx: &Ctx, person: &str, headers: &HeaderMap) -> bool {
    cookies(headers).remove(DEVICE).is_some_and(|d| {
        ctx.vault
            .store
            .known_device(person, &sha256(d.as_bytes()))
            .unwrap_or(false)
    })
}
