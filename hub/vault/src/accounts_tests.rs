//! Accounts, sign-in and password reset against a real store.

use super::*;
use crate::store::PendingCode;

fn store() -> (tempfile::TempDir, VaultStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = passerelle_hub_core::store::Store::open(&dir.path().join("store")).unwrap();
    (dir, VaultStore::new(s))
}

#[test]
fn logins_normalise() {
    assert_eq!(normalise_login(" 0639 12 34 56 ").unwrap(), "0639123456");
    assert_eq!(normalise_login("+262 639 12 34 56").unwrap(), "0639123456");
    assert_eq!(normalise_login("Awa@Exemple.FR").unwrap(), "awa@exemple.fr");
    assert!(normalise_login("12345").is_err());
    assert!(normalise_login("awa@").is_err());
    assert_eq!(normalise_code("ab3c-d 9ef"), "AB3CD9EF");
}

#[test]
fn password_unlocks_the_data_key_and_reset_keeps_it_only_with_the_rescue_code() {
    let (_d, s) = store();
    let c = create(&s, "0639123456", "un mot de passe", None, 100).unwrap();
    assert!(matches!(
        create(&s, "0639123456", "autre chose", None, 100),
        Err(VaultError::Refused(Refusal::LoginTaken))
    ));
    let (acc, key) = sign_in(&s, "0639123456", "un mot de passe")
        .unwrap()
        .unwrap();
    assert_eq!((acc.id.as_str(), &key), (c.account.id.as_str(), &c.key));
    assert!(sign_in(&s, "0639123456", "mauvais mot").unwrap().is_none());
    assert!(sign_in(&s, "0639000000", "un mot de passe")
        .unwrap()
        .is_none());

    // A wrong reset code is refused; a wrong rescue code too, but it
    // leaves the reset code usable.
    let pending = |expires_at| PendingCode {
        person: acc.id.clone(),
        expires_at,
        issued_by: "pro".into(),
        attempts: 0,
    };
    s.put_code(CodeKind::Reset, &code_hash("AAAA-BBBB"), &pending(1000))
        .unwrap();
    assert!(matches!(
        reset(&s, "0639123456", "AAAA-CCCC", None, "nouveau mdp", 200),
        Err(VaultError::Refused(Refusal::BadResetCode))
    ));
    assert!(matches!(
        reset(
            &s,
            "0639123456",
            "AAAA-BBBB",
            Some("WRONG-CODE"),
            "nouveau mdp",
            200
        ),
        Err(VaultError::Refused(Refusal::BadRescueCode {
            attempts_left: 4
        }))
    ));
    // The same code, the rescue code right this time.
    let r = reset(
        &s,
        "0639123456",
        "aaaa bbbb",
        Some(&c.rescue_code),
        "nouveau mdp",
        200,
    )
    .unwrap();
    assert!(r.kept_uploads);
    assert_eq!(r.key, c.key);
    assert!(sign_in(&s, "0639123456", "un mot de passe")
        .unwrap()
        .is_none());
    assert_eq!(
        sign_in(&s, "0639123456", "nouveau mdp").unwrap().unwrap().1,
        c.key
    );
    // Without the rescue code: a new key, and a new rescue code.
    s.put_code(CodeKind::Reset, &code_hash("CCCC-DDDD"), &pending(1000))
        .unwrap();
    let r = reset(&s, "0639123456", "CCCC-DDDD", None, "encore autre", 300).unwrap();
    assert!(!r.kept_uploads);
    assert_ne!(r.key, c.key);
    // An expired code is refused.
    s.put_code(CodeKind::Reset, &code_hash("EEEE-FFFF"), &pending(250))
        .unwrap();
    assert!(reset(&s, "0639123456", "EEEE-FFFF", None, "encore autre", 300).is_err());
    // A code used once is gone.
    assert!(matches!(
        reset(&s, "0639123456", "CCCC-DDDD", None, "encore autre", 300),
        Err(VaultError::Refused(Refusal::BadResetCode))
    ));
}

#[test]
fn mistyped_rescue_codes_expire_the_reset_code_after_a_few_tries() {
    let (_d, s) = store();
    let c = create(&s, "0639123456", "un mot de passe", None, 100).unwrap();
    let hash = code_hash("GGGG-HHHH");
    let pending = PendingCode {
        person: c.account.id.clone(),
        expires_at: 1000,
        issued_by: "pro".into(),
        attempts: 0,
    };
    s.put_code(CodeKind::Reset, &hash, &pending).unwrap();
    for left in (0..MAX_RESET_ATTEMPTS).rev() {
        let r = reset(
            &s,
            "0639123456",
            "GGGG-HHHH",
            Some("AAAA"),
            "nouveau mdp",
            200,
        );
        assert!(
            matches!(
                r,
                Err(VaultError::Refused(Refusal::BadRescueCode { attempts_left })) if attempts_left == left
            ),
            "{r:?}"
        );
    }
    assert!(s.code(CodeKind::Reset, &hash).unwrap().is_none());
    // Even with the right rescue code now: the reset code has expired.
    assert!(matches!(
        reset(
            &s,
            "0639123456",
            "GGGG-HHHH",
            Some(&c.rescue_code),
            "nouveau mdp",
            200
        ),
        Err(VaultError::Refused(Refusal::BadResetCode))
    ));
    // Another person's login with a valid code counts a try too, and
    // does not reset the account the code is for.
    s.put_code(CodeKind::Reset, &hash, &pending).unwrap();
    create(&s, "0639000000", "autre mot de passe", None, 100).unwrap();
    assert!(matches!(
        reset(&s, "0639000000", "GGGG-HHHH", None, "nouveau mdp", 200),
        Err(VaultError::Refused(Refusal::BadResetCode))
    ));
    assert_eq!(s.code(CodeKind::Reset, &hash).unwrap().unwrap().attempts, 1);
}

#[test]
fn a_person_session_in_the_store_is_served_by_another_instance_and_its_key_stays_wrapped() {
    let dir = tempfile::tempdir().unwrap();
    let store = passerelle_hub_core::store::Store::open(&dir.path().join("store")).unwrap();
    let in_store = || PersonSessions {
        map: Mutex::default(),
        shared: Some(store.keyspace(SessionSpace::Persons)),
    };
    let (a, b) = (in_store(), in_store());
    let s = VaultStore::new(store.clone());
    let c = create(&s, "0639123457", "un mot de passe", None, 100).unwrap();
    let (acc, key) = sign_in(&s, "0639123457", "un mot de passe")
        .unwrap()
        .unwrap();
    let (token, opened) = a.open(&acc, key.clone(), 100, 60);
    let got = b
        .get(&token, 120)
        .expect("the other instance serves the session");
    assert_eq!(
        (got.person.as_str(), got.csrf.as_str()),
        (c.account.id.as_str(), opened.csrf.as_str())
    );
    assert_eq!(got.key.0, key.0);
    assert!(b.get(&token, 161).is_none(), "expired");
    // What the store holds does not carry the key in clear.
    let space: Keyspace<StoredPersonSession> = store.keyspace(SessionSpace::Persons);
    for e in space.iter().unwrap() {
        let raw = e.unwrap();
        let v = raw.value().unwrap();
        assert_ne!(v.wrapped_key.len(), 0);
        assert!(!v.wrapped_key.windows(32).any(|w| w == key.0));
    }
    // A token that is not the cookie's does not unwrap it.
    assert!(b.get("00", 120).is_none());
    a.close_all(&c.account.id);
    assert!(b.get(&token, 120).is_none());
}
