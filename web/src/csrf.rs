//! Form tokens. Every form that changes something carries one, checked in
//! constant time before anything else is done: the session's own token
//! once signed in, and before that a double-submit token (the same random
//! value in a cookie and in the form).

/// A fresh token (128 random bits, hex).
pub fn token() -> String {
    passerelle_protocol::hex::encode(&passerelle_link::random16())
}

/// Whether the token a form returned is the one expected; an empty one
/// never is.
pub fn matches(expected: &str, given: &str) -> bool {
    !expected.is_empty()
        && passerelle_protocol::sign::constant_time_eq(expected.as_bytes(), given.as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_fresh_and_checked_whole() {
        let t = super::token();
        assert_eq!(t.len(), 32);
        assert_ne!(t, super::token());
        assert!(super::matches(&t, &t));
        assert!(!super::matches(&t, &t[..31]));
        assert!(!super::matches("", ""));
    }
}
