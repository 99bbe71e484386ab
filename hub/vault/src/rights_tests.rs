//! Deleting an account and unlinking an institution, without sockets.

use super::*;
use crate::{accounts, share, uploads};
use passerelle_protocol::vault::{Category, Grantee, Scope};

const PDF: &[u8] = b"%PDF-1.4\nx\n%%EOF\n";

fn signing_key() -> SigningKey {
    let pkcs8 =
        ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    SigningKey::from_pkcs8(pkcs8.as_ref()).unwrap()
}

const KEEP: Retention = Retention {
    journal_days: 30,
    inactive_days: Some(365),
    warning_days: 30,
};

#[test]
fn deletion_erases_everything_but_the_chain_and_the_journal_for_a_while() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    let store =
        VaultStore::new(passerelle_hub_core::store::Store::open(&dir.path().join("s")).unwrap());
    let c = accounts::create(&store, "0639000000", "motdepasse", None, 1).unwrap();
    let p = c.account.id.clone();
    let (caf, cd) = (
        NodeId::new("caf-976").unwrap(),
        NodeId::new("cd-976").unwrap(),
    );
    store.put_link(&p, &caf, 2).unwrap();
    store.put_link(&p, &cd, 2).unwrap();
    let u = uploads::store(
        &vault,
        &store,
        &p,
        &c.key,
        "a.pdf",
        Category::Resources,
        "application/pdf",
        PDF,
        3,
    )
    .unwrap();
    consent::grant(
        &store,
        &signing_key(),
        &consent::Grant {
            person: p.clone(),
            grantee: (Grantee::Institution(cd.clone()), "CD".into()),
            scopes: vec![(
                caf.clone(),
                Scope::Categories(vec![Category::Resources]),
                "x".into(),
            )],
            procedure: "rsa".into(),
            until: 10_000,
        },
        4,
    )
    .unwrap();
    share::keys::unlock(&store, "ana@caf976.fr", "mot-de-passe-ana", 4).unwrap();
    share::grant(
        &store,
        &c.key,
        &share::UploadGrant {
            person: p.clone(),
            grantee: (
                Grantee::Professional {
                    institution: caf.clone(),
                    account: "ana@caf976.fr".into(),
                },
                "Ana".into(),
            ),
            uploads: vec![u.id.clone()],
            categories: vec![],
            scope_label: "a".into(),
            procedure: "rsa".into(),
            until: 10_000,
        },
        5,
    )
    .unwrap();

    // Unlinking one institution ends its consents (given to it or held
    // by it) and queues the node.
    let ended = unlink(&store, &p, &cd, 6).unwrap();
    assert_eq!(ended.forget, vec![cd.clone()]);
    assert_eq!(ended.revoked.len(), 1);
    assert!(store.consents_of(&p).unwrap().iter().all(|c| !c.active(6)));
    assert_eq!(store.links(&p).unwrap().len(), 1);
    assert_eq!(
        store.forgets_for(&cd).unwrap(),
        vec![pseudonym(&store, &p, &cd).unwrap()]
    );
    assert!(matches!(
        unlink(&store, &p, &cd, 6),
        Err(VaultError::Refused(Refusal::NotLinked))
    ));

    let delete = |at| delete_account(&vault, &store, &p, Actor::Person, &KEEP, at);
    let ended = delete(7).unwrap();
    assert_eq!(ended.forget, vec![caf.clone()]);
    assert!(store.person(&p).unwrap().is_none());
    assert!(store.person_by_login("0639000000").unwrap().is_none());
    assert!(store.uploads(&p).unwrap().is_empty());
    assert!(store.links(&p).unwrap().is_empty());
    assert!(store.consents_of(&p).unwrap().is_empty());
    assert!(store.all_consents().unwrap().is_empty());
    assert!(store.shares_of(&p).unwrap().is_empty());
    let files: Vec<_> = std::fs::read_dir(vault.join("uploads")).unwrap().collect();
    assert!(files.is_empty(), "{files:?}");
    // The login is free again.
    accounts::create(&store, "0639000000", "autre-mot-de-passe", None, 8).unwrap();

    // The journal is kept for its time, then purged; the chain verifies.
    let journal = store.audit_of(&p, 100).unwrap();
    assert!(journal
        .iter()
        .any(|r| r.event.action == Action::AccountDelete));
    let early = sweep(&vault, &store, &KEEP, 7 + 29 * DAY).unwrap();
    assert_eq!(early.journals_purged, 0);
    assert_eq!(store.audit_of(&p, 100).unwrap().len(), journal.len());
    let late = sweep(&vault, &store, &KEEP, 7 + 30 * DAY).unwrap();
    assert_eq!(late.journals_purged, 1);
    assert!(store.audit_of(&p, 100).unwrap().is_empty());
    assert!(store.erased(&p).unwrap().is_none());
    assert!(store.audit_verify().unwrap().is_ok());
}

#[test]
fn inactive_accounts_are_warned_then_deleted_and_a_sign_in_saves_them() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    let store =
        VaultStore::new(passerelle_hub_core::store::Store::open(&dir.path().join("s")).unwrap());
    let a = accounts::create(&store, "0639000001", "motdepasse", None, 0).unwrap();
    let b = accounts::create(&store, "0639000002", "motdepasse", None, 0).unwrap();
    let (a, b) = (a.account.id, b.account.id);
    let year = 365 * DAY;
    // Nothing before the warning period.
    assert!(sweep(&vault, &store, &KEEP, year - 31 * DAY)
        .unwrap()
        .warned
        .is_empty());
    let s = sweep(&vault, &store, &KEEP, year - 30 * DAY).unwrap();
    assert_eq!(s.warned.len(), 2);
    assert_eq!(s.warned[0].2, year);
    // A sign-in keeps the account; the warning is shown once after it.
    signed_in(&store, &a, year - 10 * DAY).unwrap();
    assert_eq!(take_warning(&store, &a, &KEEP).unwrap(), Some(year));
    assert_eq!(take_warning(&store, &a, &KEEP).unwrap(), None);
    // Not warned twice.
    assert!(sweep(&vault, &store, &KEEP, year - 5 * DAY)
        .unwrap()
        .warned
        .is_empty());
    let s = sweep(&vault, &store, &KEEP, year).unwrap();
    assert_eq!(s.deleted.len(), 1);
    assert!(store.person(&b).unwrap().is_none());
    assert!(store.person(&a).unwrap().is_some());
    // Without the setting, nobody is warned or deleted.
    let never = Retention {
        inactive_days: None,
        ..KEEP
    };
    let s = sweep(&vault, &store, &never, 10 * year).unwrap();
    assert!(s.warned.is_empty() && s.deleted.is_empty());
}
