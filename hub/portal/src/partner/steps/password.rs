//! `/partenaires/mot-de-passe`: a partner changes their password, forced
//! at the first sign-in (the first password was printed to the
//! administrator), open to a signed-in partner at any time. Every other
//! session of the account is closed.

use super::*;

fn password_form(ctx: &Ctx, s: &Session, message: Option<&str>, status: StatusCode) -> Response {
    let first = s.step == Step::ChangePassword;
    let body = forms::password_change("/partenaires/mot-de-passe", &s.csrf, first, message);
    private(status, page(ctx, "Changer mon mot de passe", body))
}

/// The session allowed here (signed in, or at the password step).
fn changing(ctx: &Ctx, headers: &HeaderMap) -> Result<(Session, Account), &'static str> {
    match pending(ctx, headers) {
        None => Err(LOGIN_PAGE),
        Some((_, s, a)) if matches!(s.step, Step::ChangePassword | Step::Ready) => Ok((s, a)),
        Some((_, s, _)) => Err(step_path(s.step)),
    }
}

/// GET the password change form.
pub async fn password_page(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    match changing(&ctx, &headers) {
        Ok((s, _)) => password_form(&ctx, &s, None, StatusCode::OK),
        Err(to) => redirect(to),
    }
}

/// POST the password change form.
pub async fn change_password(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<forms::PasswordFields>,
) -> Response {
    let (s, a) = match changing(&ctx, &headers) {
        Ok(x) => x,
        Err(to) => return redirect(to),
    };
    if !csrf_ok(&s, &f.csrf) {
        return forbidden(&ctx);
    }
    let client = client_ip(&ctx, peer.ip(), &headers);
    if count(&ctx, &s.email, client).is_none() {
        return password_form(&ctx, &s, Some(TOO_MANY), StatusCode::TOO_MANY_REQUESTS);
    }
    if let Err(e) = partners::check_new_password(&f.actuel, &f.nouveau, &f.confirmation) {
        return password_form(
            &ctx,
            &s,
            Some(forms::new_password_refusal(e)),
            StatusCode::BAD_REQUEST,
        );
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        let busy = "Le service est très sollicité. Réessayez dans un instant.";
        return password_form(&ctx, &s, Some(busy), StatusCode::SERVICE_UNAVAILABLE);
    };
    let (hash, current, new) = (a.password_hash.clone(), f.actuel, f.nouveau);
    let for_key = (current.clone(), new.clone());
    let checked = tokio::task::spawn_blocking(move || {
        partners::verify_password(&current, &hash).then(|| partners::hash_password(&new))
    })
    .await
    .ok()
    .flatten();
    let new_hash = match checked {
        None => {
            tracing::warn!(account = %s.email, ip = %client, "partner password change: wrong current password");
            let wrong = "Mot de passe actuel incorrect.";
            return password_form(&ctx, &s, Some(wrong), StatusCode::UNAUTHORIZED);
        }
        Some(Err(_)) => return crate::PortalError::Internal.into_response(),
        Some(Ok(h)) => h,
    };
    let Some(mut a) = ctx.hub.store.account(&s.email).ok().flatten() else {
        return to_login();
    };
    a.password_hash = new_hash;
    a.must_change_password = false;
    if ctx.hub.store.put_account(&a).is_err() {
        return crate::PortalError::Unavailable.into_response();
    }
    tracing::info!(account = %s.email, "partner changed their password");
    // Every other session of the account ends; this one goes on anew.
    ctx.sessions.close_all(&s.email);
    let next = next_step(&ctx, &a, true);
    let ttl = ttl(&ctx, next);
    let (token, _) = ctx.sessions.open_at(&s.email, next, now(), ttl);
    crate::pro_keys::change(&ctx, &token, &s.email, for_key.0, for_key.1).await;
    with_session(redirect(step_path(next)), &token, ttl)
}
