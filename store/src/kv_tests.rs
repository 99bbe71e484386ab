//! The storage interface's behaviour, on sled and, when
//! `PASSERELLE_TEST_PG` names a PostgreSQL server
//! (`postgresql://USER@HOST:PORT/DATABASE`), on PostgreSQL too, each test
//! in a schema of its own.

use super::*;

/// A fresh store on each engine at hand.
fn engines() -> Vec<(tempfile::TempDir, Db)> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_sled(&dir.path().join("store"), Options::new(Program::Hub)).unwrap();
    out.push((dir, db));
    if let Some(url) = test_pg() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_postgres(
            &dir.path().join("store"),
            Program::Hub,
            &PgSettings {
                url,
                password: None,
                schema: fresh_schema(),
                connections: 3,
            },
        )
        .unwrap();
        out.push((dir, db));
    }
    out
}

fn test_pg() -> Option<String> {
    std::env::var("PASSERELLE_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty())
}

fn fresh_schema() -> String {
    format!(
        "t_{}",
        passerelle_link::random16()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

fn all(i: Iter) -> Vec<(Vec<u8>, Vec<u8>)> {
    i.map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn keys_are_ordered_byte_by_byte_and_walked_from_both_ends() {
    for (_dir, db) in engines() {
        let t = db.tree("t").unwrap();
        let keys: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 0],
            vec![1],
            b"a".to_vec(),
            b"a\0".to_vec(),
            b"a\0\xff".to_vec(),
            b"a\x01".to_vec(),
            b"ab".to_vec(),
            vec![0x7f],
            vec![0x80],
            vec![0xff],
            vec![0xff, 0xff],
        ];
        for (i, k) in keys.iter().rev().enumerate() {
            t.insert(k, [i as u8]).unwrap();
        }
        // Another tree's records never show.
        db.tree("u").unwrap().insert(b"a", b"other").unwrap();
        let got: Vec<Vec<u8>> = all(t.iter()).into_iter().map(|(k, _)| k).collect();
        assert_eq!(got, keys, "{}", db.engine_name());
        let back: Vec<Vec<u8>> = t.iter().rev().map(|kv| kv.unwrap().0.to_vec()).collect();
        assert_eq!(back, keys.iter().rev().cloned().collect::<Vec<_>>());
        let a: Vec<Vec<u8>> = all(t.scan_prefix(b"a"))
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(a, keys[4..9].to_vec(), "{}", db.engine_name());
        let a0: Vec<Vec<u8>> = all(t.scan_prefix(b"a\0"))
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(a0, keys[5..7].to_vec());
        let ff: Vec<Vec<u8>> = all(t.scan_prefix([0xff]))
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(ff, keys[11..].to_vec());
        let from: Vec<Vec<u8>> = all(t.range_from(b"a\x01"))
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(from, keys[7..].to_vec());
        assert_eq!(t.last().unwrap().unwrap().0.to_vec(), vec![0xff, 0xff]);
        assert_eq!(
            t.scan_prefix(b"a").next_back().unwrap().unwrap().0.to_vec(),
            b"ab".to_vec()
        );
        assert!(db.tree("empty").unwrap().last().unwrap().is_none());
        assert!(db.tree("empty").unwrap().iter().next().is_none());
    }
}

#[test]
fn a_walk_from_both_ends_meets_once_over_many_pages() {
    for (_dir, db) in engines() {
        let t = db.tree("many").unwrap();
        let n = 3000u32;
        for i in 0..n {
            t.insert(i.to_be_bytes(), i.to_le_bytes()).unwrap();
        }
        // Alternate ends: every record once, none twice, whatever the pages.
        let mut it = t.iter();
        let (mut front, mut back) = (Vec::new(), Vec::new());
        loop {
            let f = it.next();
            let b = it.next_back();
            if let Some(kv) = &f {
                front.push(u32::from_be_bytes(
                    kv.as_ref().unwrap().0[..].try_into().unwrap(),
                ));
            }
            if let Some(kv) = &b {
                back.push(u32::from_be_bytes(
                    kv.as_ref().unwrap().0[..].try_into().unwrap(),
                ));
            }
            if f.is_none() && b.is_none() {
                break;
            }
        }
        back.reverse();
        front.extend(back);
        assert_eq!(front, (0..n).collect::<Vec<_>>(), "{}", db.engine_name());
        // Mostly from the front, a little from the end.
        let mut it = t.scan_prefix([0, 0]);
        let last = it.next_back().unwrap().unwrap();
        assert_eq!(last.0.to_vec(), (n - 1).to_be_bytes());
        assert_eq!(it.count(), n as usize - 1);
    }
}

#[test]
fn writes_reads_removals_and_swaps_answer_alike() {
    for (_dir, db) in engines() {
        let t = db.tree("t").unwrap();
        assert_eq!(t.get(b"k").unwrap(), None);
        t.insert(b"k", b"v1").unwrap();
        t.insert(b"k", b"v2").unwrap();
        assert_eq!(t.get(b"k").unwrap().unwrap().to_vec(), b"v2");
        assert!(!t.compare_and_swap(b"k", None, Some(b"x")).unwrap());
        assert!(!t.compare_and_swap(b"k", Some(b"v1"), Some(b"x")).unwrap());
        assert!(t.compare_and_swap(b"k", Some(b"v2"), Some(b"v3")).unwrap());
        assert!(!t.compare_and_swap(b"k", None, None).unwrap());
        assert!(t.compare_and_swap(b"k", Some(b"v3"), None).unwrap());
        assert!(t.compare_and_swap(b"k", None, None).unwrap());
        assert!(t.compare_and_swap(b"k", None, Some(b"new")).unwrap());
        assert_eq!(t.remove(b"k").unwrap().unwrap().to_vec(), b"new");
        assert_eq!(t.remove(b"k").unwrap(), None);
        // Empty values are values.
        t.insert(b"e", b"").unwrap();
        assert_eq!(t.get(b"e").unwrap().unwrap().to_vec(), b"");
        let before = t
            .fetch_and_update(b"n", |old| {
                assert!(old.is_none());
                Some(b"1".to_vec())
            })
            .unwrap();
        assert_eq!(before, None);
        let before = t.fetch_and_update(b"n", |_| None).unwrap();
        assert_eq!(before.unwrap().to_vec(), b"1");
        assert_eq!(t.get(b"n").unwrap(), None);
        let a = db.generate_id().unwrap();
        let b = db.generate_id().unwrap();
        assert!(b > a, "{}", db.engine_name());
        db.flush().unwrap();
        db.probe();
        assert!(db.health().degraded().is_none());
    }
}

#[test]
fn of_concurrent_writers_one_wins_a_swap_and_no_update_is_lost() {
    for (_dir, db) in engines() {
        let t = db.tree("race").unwrap();
        let wins = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for i in 0..8u8 {
                let (t, wins) = (&t, &wins);
                s.spawn(move || {
                    if t.compare_and_swap(b"once", None, Some(&[i])).unwrap() {
                        wins.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    for _ in 0..25 {
                        t.fetch_and_update(b"count", |old| {
                            let n = old.map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap()));
                            Some((n + 1).to_be_bytes().to_vec())
                        })
                        .unwrap();
                    }
                });
            }
        });
        assert_eq!(wins.into_inner(), 1, "{}", db.engine_name());
        let count = t.get(b"count").unwrap().unwrap();
        assert_eq!(u32::from_be_bytes(count[..].try_into().unwrap()), 200);
    }
}

#[test]
fn the_store_answers_from_inside_a_single_threaded_runtime() {
    // The hub calls its store from async handlers; the PostgreSQL client
    // must not run its own runtime on the caller's thread.
    for (_dir, db) in engines() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let t = db.tree("async").unwrap();
            t.insert(b"k", b"v").unwrap();
            assert_eq!(t.get(b"k").unwrap().unwrap().to_vec(), b"v");
            assert_eq!(all(t.iter()).len(), 1);
            tokio::task::yield_now().await;
            assert!(db.generate_id().is_ok());
        });
    }
}

#[test]
fn an_export_loads_into_the_other_engine_record_for_record() {
    for (_dir, db) in engines() {
        db.tree("t1").unwrap().insert(b"k1", b"v1").unwrap();
        db.tree("t2").unwrap().insert(b"k2", b"v2").unwrap();
        let mut bytes = Vec::new();
        let counts = passerelle_link::backup::dump::dump(&db, &mut bytes).unwrap();
        assert!(counts.contains(&("t1".to_string(), 1)), "{counts:?}");
        for (_d2, other) in engines() {
            passerelle_link::backup::dump::load(&other, &mut bytes.as_slice()).unwrap();
            assert_eq!(
                other
                    .tree("t2")
                    .unwrap()
                    .get(b"k2")
                    .unwrap()
                    .unwrap()
                    .to_vec(),
                b"v2",
                "{} into {}",
                db.engine_name(),
                other.engine_name()
            );
        }
    }
}

#[test]
fn a_database_that_cannot_be_reached_says_so_at_opening() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1 of this machine.
    let err = Db::open_postgres(
        &dir.path().join("store"),
        Program::Hub,
        &PgSettings {
            url: "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2".into(),
            password: None,
            schema: "p".into(),
            connections: 1,
        },
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{text}");
    assert!(
        text.contains("cannot use the PostgreSQL database"),
        "{text}"
    );
}
