//! Shares of uploads without sockets: who opens what, until when, and
//! what the store keeps.

use super::*;
use crate::{accounts, uploads};
use passerelle_protocol::vault::Category;

const PDF: &[u8] = b"%PDF-1.4\nsecret-of-the-person\n%%EOF\n";

struct World {
    dir: tempfile::TempDir,
    store: VaultStore,
    person: String,
    key: Key,
    upload: Upload,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = VaultStore::new(
        passerelle_hub_core::store::Store::open(&dir.path().join("store")).unwrap(),
    );
    let c = accounts::create(&store, "0639000000", "motdepasse", None, 1).unwrap();
    let upload = uploads::store(
        &dir.path().join("vault"),
        &store,
        &c.account.id,
        &c.key,
        "avis.pdf",
        Category::Resources,
        "application/pdf",
        PDF,
        2,
    )
    .unwrap();
    World {
        person: c.account.id,
        key: c.key,
        upload,
        store,
        dir,
    }
}

fn caf() -> NodeId {
    NodeId::new("caf-976").unwrap()
}

fn to_ana(w: &World, uploads: Vec<String>, categories: Vec<Category>) -> UploadGrant {
    UploadGrant {
        person: w.person.clone(),
        grantee: (
            Grantee::Professional {
                institution: caf(),
                account: "ana@caf.fr".into(),
            },
            "Ana (CAF)".into(),
        ),
        uploads,
        categories,
        scope_label: "avis".into(),
        procedure: "rsa".into(),
        until: 1000,
    }
}

#[test]
fn a_professional_opens_what_is_shared_until_it_ends() {
    let w = world();
    let vault = w.dir.path().join("vault");
    // No key yet: the professional never signed in.
    let g = to_ana(&w, vec![w.upload.id.clone()], vec![]);
    assert!(matches!(
        grant(&w.store, &w.key, &g, 10),
        Err(VaultError::Refused(Refusal::GranteeWithoutKey))
    ));
    let ana = keys::unlock(&w.store, "ana@caf.fr", "mot-de-passe-ana", 5).unwrap();
    let s = grant(&w.store, &w.key, &g, 10).unwrap();
    assert_eq!(s.keys.len(), 1);
    let (u, bytes) = open(&vault, &w.store, &ana, &caf(), &s.id, &w.upload.id, 20)
        .unwrap()
        .unwrap();
    assert_eq!((u.id, bytes.as_slice()), (w.upload.id.clone(), PDF));
    // Another institution's professional, same account name: refused.
    let other = NodeId::new("cd-976").unwrap();
    assert_eq!(
        open(&vault, &w.store, &ana, &other, &s.id, &w.upload.id, 20).unwrap(),
        Err(ShareRefusal::NoShare)
    );
    // Expired: refused, and the sweep erases the sealed key.
    assert_eq!(
        open(&vault, &w.store, &ana, &caf(), &s.id, &w.upload.id, 1000).unwrap(),
        Err(ShareRefusal::NoShare)
    );
    assert_eq!(sweep(&w.store, 1000).unwrap(), 1);
    assert!(w.store.share(&s.id).unwrap().unwrap().keys.is_empty());
    // Each access is in the person's journal.
    let journal = w.store.audit_of(&w.person, 50).unwrap();
    let downloads = journal
        .iter()
        .filter(|r| r.event.action == Action::Download);
    assert_eq!(downloads.count(), 1);
    let refused = journal
        .iter()
        .filter(|r| r.event.action == Action::DownloadRefused);
    assert_eq!(refused.count(), 2);
}

#[test]
fn revocation_erases_the_keys_and_categories_follow_new_uploads() {
    let w = world();
    let vault = w.dir.path().join("vault");
    let ana = keys::unlock(&w.store, "ana@caf.fr", "mot-de-passe-ana", 5).unwrap();
    let s = grant(
        &w.store,
        &w.key,
        &to_ana(&w, vec![], vec![Category::Resources]),
        10,
    )
    .unwrap();
    assert_eq!(s.keys.len(), 1);
    // A later upload of the category is shared too; another is not.
    let later = |cat, at| {
        uploads::store(
            &vault,
            &w.store,
            &w.person,
            &w.key,
            "b.pdf",
            cat,
            "application/pdf",
            PDF,
            at,
        )
        .unwrap()
    };
    let income = later(Category::Resources, 11);
    let housing = later(Category::Housing, 12);
    extend(&w.store, &w.key, &income, 13).unwrap();
    extend(&w.store, &w.key, &housing, 13).unwrap();
    assert!(open(&vault, &w.store, &ana, &caf(), &s.id, &income.id, 14)
        .unwrap()
        .is_ok());
    assert_eq!(
        open(&vault, &w.store, &ana, &caf(), &s.id, &housing.id, 14).unwrap(),
        Err(ShareRefusal::NotCovered)
    );
    // Only the person revokes; then nothing opens and no key is left.
    assert!(revoke(&w.store, "someone-else", &s.id, 15).is_err());
    let r = revoke(&w.store, &w.person, &s.id, 15).unwrap();
    assert!(r.keys.is_empty() && r.revoked_at == Some(15));
    assert_eq!(
        open(&vault, &w.store, &ana, &caf(), &s.id, &income.id, 16).unwrap(),
        Err(ShareRefusal::NoShare)
    );
}

#[test]
fn institutions_as_a_whole_are_refused_for_uploads() {
    let w = world();
    let mut g = to_ana(&w, vec![w.upload.id.clone()], vec![]);
    g.grantee.0 = Grantee::Institution(caf());
    assert!(matches!(
        grant(&w.store, &w.key, &g, 10),
        Err(VaultError::Refused(Refusal::ShareNeedsProfessional))
    ));
}
