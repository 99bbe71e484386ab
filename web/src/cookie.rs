//! Cookies, the client's address and private responses.
//!
//! Session cookies are `HttpOnly; Secure; SameSite=Strict`: scripts never
//! read them, no other site sends them, and browsers keep `Secure` ones on
//! `http://localhost` as well, so the same cookie serves the loopback and
//! the TLS cases.

use std::{collections::HashMap, net::IpAddr};

use axum::{
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
};

/// Every cookie of a request, by name (the last one of a name wins).
pub fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Adds a `Set-Cookie` for `name=value` on `path`, kept `max_age`
/// seconds (0 removes it).
pub fn set(res: &mut Response, name: &str, value: &str, path: &str, max_age: u64) {
    let cookie = format!(
        "{name}={value}; HttpOnly; Secure; SameSite=Strict; Path={path}; Max-Age={max_age}"
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A page for one person only: never cached.
pub fn private(status: StatusCode, html: String) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Html(html),
    )
        .into_response()
}

/// Sets the headers every page of a web application carries: its
/// Content-Security-Policy `csp`, no guessing of types, no referrer, no
/// framing.
pub fn secure(h: &mut HeaderMap, csp: &'static str) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// Percent-encodes everything but RFC 3986's unreserved characters: a
/// text for a URL's query or path.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// "See other": where a form sends the browser next.
pub fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

/// The client's address: the peer, or, when the peer is the trusted
/// reverse proxy, the last address that proxy appended to
/// `X-Forwarded-For`.
pub fn client_ip(peer: IpAddr, trusted_proxy: Option<IpAddr>, headers: &HeaderMap) -> IpAddr {
    if trusted_proxy != Some(peer) {
        return peer;
    }
    forwarded_for(headers).unwrap_or(peer)
}

/// The last address in `X-Forwarded-For`: the one the nearest proxy
/// appended. Only meaningful when the peer is the trusted proxy.
pub fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|ip| ip.trim().parse().ok())
}

/// The rate-limit key of a client: its IPv4 address, or its IPv6 /64
/// (one subscriber usually holds a whole /64), as the HTTP server counts
/// connections.
pub use passerelle_link::http::admission::address_key as client_key;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_forwarded_addresses_are_read() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        h.append(header::COOKIE, HeaderValue::from_static("c=3"));
        let c = cookies(&h);
        assert_eq!(
            (c["a"].as_str(), c["b"].as_str(), c["c"].as_str()),
            ("1", "2", "3")
        );
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 198.51.100.7"),
        );
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(
            client_ip(proxy, Some(proxy), &h),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(other, Some(proxy), &h), other);
        assert_eq!(
            client_key("2001:db8::1:2:3:4".parse().unwrap()),
            "2001:db8::".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn session_cookies_are_strict() {
        let mut res = redirect("/");
        set(&mut res, "s", "v", "/", 60);
        assert_eq!(
            res.headers()[header::SET_COOKIE],
            "s=v; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=60"
        );
    }
}
