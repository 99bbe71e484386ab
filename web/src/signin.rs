//! The steps of a sign-in after the password: the second factor's code, a
//! first password to change (one printed once to an administrator), the
//! enrolment of an authenticator app where the second factor is required.
//! Until they are done a session is limited to their pages.

use serde::{Deserialize, Serialize};

/// How long a session with a step left lasts (seconds): the time to give
/// a code or change a password, not a working day.
pub const PENDING_TTL: u64 = 15 * 60;

/// What an account says of its sign-in.
pub trait Credentials {
    /// A second factor is enrolled: a code is asked at each sign-in.
    fn totp_enabled(&self) -> bool;
    /// The password is a first one, to change before anything else.
    fn must_change_password(&self) -> bool;
}

/// What a signed-in person must do before reaching the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// Nothing: the session is open.
    Ready,
    /// Give the second factor's code.
    Code,
    /// Change the first password.
    ChangePassword,
    /// Enrol a second factor (required by the configuration).
    Enrol,
}

impl Step {
    /// The next step of an account after the password (`code_given`
    /// false) or after the code, given whether a second factor is
    /// required.
    pub fn after(account: &impl Credentials, totp_required: bool, code_given: bool) -> Self {
        if account.totp_enabled() && !code_given {
            Self::Code
        } else if account.must_change_password() {
            Self::ChangePassword
        } else if totp_required && !account.totp_enabled() {
            Self::Enrol
        } else {
            Self::Ready
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct A(bool, bool);
    impl Credentials for A {
        fn totp_enabled(&self) -> bool {
            self.0
        }
        fn must_change_password(&self) -> bool {
            self.1
        }
    }

    #[test]
    fn steps_come_in_order() {
        assert_eq!(
            Step::after(&A(false, true), true, false),
            Step::ChangePassword
        );
        assert_eq!(Step::after(&A(false, false), true, false), Step::Enrol);
        assert_eq!(Step::after(&A(false, false), false, false), Step::Ready);
        assert_eq!(Step::after(&A(true, true), false, false), Step::Code);
        assert_eq!(
            Step::after(&A(true, true), false, true),
            Step::ChangePassword
        );
        assert_eq!(Step::after(&A(true, false), true, true), Step::Ready);
    }
}
