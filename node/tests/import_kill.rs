//! An import killed outright (SIGKILL, a real child process) leaves the
//! previous batch whole: the new batch is there entirely or not at all.
//! Kills land at random points of a whole import, and at named points
//! inside the commit itself (debug builds stop there when asked, see
//! `PASSERELLE_TEST_CRASH_AT` in `node/src/store/mod.rs`).

use std::{
    path::Path,
    process::{Command, Stdio},
    time::Instant,
};

use passerelle_config::{
    dataset::{DatasetConfig, DatasetKind, DimensionConfig, DimensionKind},
    NodeConfig,
};
use passerelle_protocol::{geo, ids::NodeId};

fn node_dir(dir: &Path) {
    let config = NodeConfig {
        datasets: vec![DatasetConfig {
            name: "recues".into(),
            title: None,
            kind: DatasetKind::Records,
            commune: "commune".into(),
            period: "periode".into(),
            count_column: None,
            dimensions: vec![DimensionConfig {
                column: "sexe".into(),
                kind: DimensionKind::Sex,
                values: vec![],
            }],
            measures: vec![],
            require_validation: false,
            drop_folder: None,
        }],
        ..NodeConfig::new(
            NodeId::new("asso").unwrap(),
            "localhost:4433".parse().unwrap(),
        )
    };
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("node.toml"), config.template()).unwrap();
}

fn csv(path: &Path, period: &str, rows: usize) {
    let mut s = String::with_capacity(rows * 24);
    s.push_str("commune,periode,sexe\n");
    for i in 0..rows {
        s.push_str(geo::COMMUNES[i % 17].code);
        s.push(',');
        s.push_str(period);
        s.push_str(if i % 3 == 0 { ",F\n" } else { ",M\n" });
    }
    std::fs::write(path, s).unwrap();
}

fn import(dir: &Path, file: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_passerelle-node"));
    c.arg("--dir")
        .arg(dir)
        .args(["import", "--dataset", "recues", "--by", "agent"])
        .arg(file);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

/// (batch id, rows) of every batch, oldest first, and the records in force
/// per period.
type State = (Vec<(u64, u64)>, Vec<(String, u64)>);

fn state(dir: &Path) -> State {
    let store =
        passerelle_node::store::Store::open(&dir.join("store")).expect("store opens after a kill");
    let mut batches: Vec<(u64, u64)> = store
        .batches()
        .unwrap()
        .iter()
        .map(|b| (b.id, b.rows))
        .collect();
    batches.sort();
    let (cubes, _) = store.active_cubes("recues").unwrap();
    let mut per: Vec<(String, u64)> = Vec::new();
    for cube in &cubes {
        for p in cube.periods() {
            let n = cube
                .cells
                .iter()
                .filter(|(k, _)| k.period == p)
                .map(|(_, c)| c.count)
                .sum();
            per.push((p.to_string(), n));
        }
    }
    per.sort();
    (batches, per)
}

#[test]
fn killed_import_leaves_the_previous_batch_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let (small, big) = (tmp.path().join("small.csv"), tmp.path().join("big.csv"));
    csv(&small, "2025-T1", 500);
    const BIG: usize = 400_000;
    csv(&big, "2025-T2", BIG);

    // How long a whole import of the big file takes here.
    let probe = tmp.path().join("probe");
    node_dir(&probe);
    let started = Instant::now();
    assert!(import(&probe, &big).status().unwrap().success());
    let full = started.elapsed();

    let dir = tmp.path().join("node");
    node_dir(&dir);
    let out = import(&dir, &small).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (before, _) = state(&dir);
    assert_eq!(before.len(), 1);

    let mut outcomes = Vec::new();
    for fraction in [0.2, 0.4, 0.55, 0.65, 0.75, 0.85] {
        let mut child = import(&dir, &big).spawn().unwrap();
        std::thread::sleep(full.mul_f64(fraction));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let (batches, per) = state(&dir);
        // The first batch is always there and whole.
        assert!(batches.contains(&before[0]), "{batches:?}");
        assert!(per.contains(&("2025-T1".to_string(), 500)), "{per:?}");
        // Any other batch is complete, never partial.
        for (id, rows) in &batches {
            if *id != before[0].0 {
                assert_eq!(
                    *rows, BIG as u64,
                    "a partial batch survived a kill at {fraction}"
                );
            }
        }
        if let Some((_, n)) = per.iter().find(|(p, _)| p == "2025-T2") {
            assert_eq!(
                *n, BIG as u64,
                "partial data in force after a kill at {fraction}"
            );
        }
        outcomes.push((fraction, status.success(), batches.len()));
    }
    // The kills must have interrupted real work at least once.
    assert!(
        outcomes.iter().any(|(_, finished, _)| !finished),
        "{outcomes:?} (full import took {full:?})"
    );
    eprintln!("full import {full:?}; outcomes (fraction, finished, batches): {outcomes:?}");
}

/// Rows of a CSV file, counted from the file itself.
fn rows_in(path: &Path) -> u64 {
    std::fs::read_to_string(path).unwrap().lines().count() as u64 - 1
}

#[test]
fn a_kill_inside_the_commit_leaves_the_old_batch_or_the_new_one_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let (small, big) = (tmp.path().join("small.csv"), tmp.path().join("big.csv"));
    csv(&small, "2025-T1", 500);
    csv(&big, "2025-T2", 20_000);
    let (small_rows, big_rows) = (rows_in(&small), rows_in(&big));
    // A successful import really stored its batch: rows and counts in force.
    let ok = tmp.path().join("ok");
    node_dir(&ok);
    for file in [&small, &big] {
        let out = import(&ok, file).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (batches, per) = state(&ok);
    assert_eq!(
        batches.iter().map(|(_, r)| r).collect::<Vec<_>>(),
        [&small_rows, &big_rows]
    );
    assert_eq!(
        per,
        vec![
            ("2025-T1".to_string(), small_rows),
            ("2025-T2".to_string(), big_rows)
        ]
    );

    // (point, whether the new batch must be there after the kill: `None`
    // when either outcome is allowed, the whole batch or nothing).
    for (point, survives) in [
        ("commit:staged", Some(false)),
        ("commit:applied", None),
        ("commit:flushed", Some(true)),
    ] {
        let dir = tmp.path().join(point.replace(':', "-"));
        node_dir(&dir);
        assert!(import(&dir, &small).status().unwrap().success());
        let (before, before_per) = state(&dir);
        let marker = tmp
            .path()
            .join(format!("{}.reached", point.replace(':', "-")));
        let mut child = import(&dir, &big)
            .env("PASSERELLE_TEST_CRASH_AT", point)
            .env("PASSERELLE_TEST_CRASH_MARKER", &marker)
            .spawn()
            .unwrap();
        // Wait for the import to stop at the point (bounded), then kill it.
        let deadline = Instant::now() + std::time::Duration::from_secs(120);
        while !marker.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("{point}: the import ended ({status}) before the point");
            }
            assert!(Instant::now() < deadline, "{point}: never reached");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(!status.success(), "{point}: killed");

        let (batches, per) = state(&dir);
        let new_there = batches.len() == 2;
        let old_only = (batches.clone(), per.clone()) == (before.clone(), before_per.clone());
        let both_whole = new_there
            && batches[0] == before[0]
            && batches[1].1 == big_rows
            && per
                == vec![
                    ("2025-T1".to_string(), small_rows),
                    ("2025-T2".to_string(), big_rows),
                ];
        assert!(
            old_only || both_whole,
            "{point}: neither the old batch alone nor both whole: {batches:?} {per:?}"
        );
        if let Some(must) = survives {
            assert_eq!(new_there, must, "{point}: {batches:?}");
        }
        eprintln!(
            "{point}: new batch {}",
            if new_there { "kept" } else { "absent" }
        );
    }
}
