//! `passerelle-node import` and `passerelle-node document add` killed
//! outright, over and over, on one node folder: after each kill the store
//! opens, every batch an import reported committed is still there and in
//! force, no batch is partial, every recorded document reads back to the
//! bytes deposited, and the audit chain verifies.

use std::{
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::ExitStatus,
    time::{Duration, Instant},
};

use passerelle_config::NodeConfig;
use passerelle_node::{store::Store, vault::DocFiles};
use passerelle_protocol::{geo, ids::NodeId};
use passerelle_tests::{node_exe, process::Running, relay::Rng, vault::pdf};

use crate::{rounds, seed, Tally};

/// A node folder with `personnes_recues` declared (no enrollment: import
/// and deposit work on the folder alone).
fn node_folder(root: &Path) {
    let (datasets, policy) = passerelle_tests::recues_config(false);
    let config = NodeConfig {
        datasets,
        policy,
        ..NodeConfig::new(
            NodeId::new("asso-a").unwrap(),
            "localhost:4433".parse().unwrap(),
        )
    };
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join("node.toml"), config.template()).unwrap();
}

/// Starts `passerelle-node --dir ROOT args…`, its output in `log`.
fn node(root: &Path, args: &[&str], log: &Path) -> Running {
    let mut all = vec!["--dir".as_ref(), root.as_os_str()];
    all.extend(args.iter().map(|a| std::ffi::OsStr::new(*a)));
    Running::spawn(node_exe!(), &all, log)
}

/// Waits for a run to end by itself (bounded).
fn wait(run: &mut Running, patience: Duration) -> ExitStatus {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(status) = run.try_wait() {
            return status;
        }
        assert!(Instant::now() < deadline, "still running:\n{}", run.log());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Kills a run; whether the kill interrupted it (`false`: it had already
/// finished, successfully — a failure fails the test).
fn kill(run: &mut Running) -> bool {
    let status = run.kill().expect("reaped");
    match status.signal() {
        Some(9) => true,
        _ => {
            assert!(status.success(), "ended with {status}:\n{}", run.log());
            false
        }
    }
}

/// The period of round `r`: a quarter of its own, so batches never replace
/// one another.
fn period(r: u32) -> String {
    format!("{}-T{}", 2000 + r / 4, r % 4 + 1)
}

/// Rows of the import of round `r` (they differ, so a batch mixed up
/// with another shows).
fn import_rows(r: u32) -> u64 {
    60_000 + u64::from(r % 7) * 1_000
}

fn write_csv(path: &Path, r: u32) {
    let p = period(r);
    let mut s = String::from("code_commune,periode,sexe\n");
    for i in 0..import_rows(r) as usize {
        s.push_str(geo::COMMUNES[i % geo::COMMUNES.len()].code);
        s.push(',');
        s.push_str(&p);
        s.push_str(if i % 3 == 0 { ",F\n" } else { ",M\n" });
    }
    std::fs::write(path, s).unwrap();
}

/// The invariants of the import loop, checked on the stopped node.
/// `committed`: the rounds whose import reported success.
fn check_batches(root: &Path, committed: &[u32], rounds_so_far: u32) {
    let store = Store::open(&root.join("store")).expect("the store opens after a kill");
    let batches = store.batches().unwrap();
    for b in &batches {
        assert_eq!(b.periods.len(), 1, "{b:?}");
        let r = (0..rounds_so_far)
            .find(|&r| b.periods[0].to_string() == period(r))
            .unwrap_or_else(|| panic!("a batch from nowhere: {b:?}"));
        assert_eq!(b.rows, import_rows(r), "a partial batch: {b:?}");
    }
    let (cubes, _) = store.active_cubes("personnes_recues").unwrap();
    let mut in_force = std::collections::BTreeMap::<String, u64>::new();
    for cube in &cubes {
        for (k, c) in &cube.cells {
            *in_force.entry(k.period.to_string()).or_default() += c.count;
        }
    }
    for &r in committed {
        assert_eq!(
            in_force.get(&period(r)).copied(),
            Some(import_rows(r)),
            "the committed batch of round {r} is not whole in force: {in_force:?}"
        );
    }
    for (p, n) in &in_force {
        let r = (0..rounds_so_far).find(|&r| period(r) == *p).unwrap();
        assert_eq!(*n, import_rows(r), "partial data in force for {p}");
    }
    let problems = store.check(&DocFiles::new(root)).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert!(store.audit_verify().unwrap().is_ok());
}

/// `passerelle-node audit verify` itself says the chain is intact.
fn audit_verify_cli(root: &Path, scratch: &Path) {
    let mut run = node(root, &["audit", "verify"], &scratch.join("audit.log"));
    let status = wait(&mut run, Duration::from_secs(30));
    assert!(status.success(), "{}", run.log());
    assert!(run.log().contains("audit chain intact"), "{}", run.log());
}

#[test]
fn imports_killed_at_random_points_never_lose_or_split_a_batch() {
    passerelle_tests::setup();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("node");
    node_folder(&root);
    let mut rng = Rng::new(seed());
    let mut tally = Tally::new("import");
    let csv = tmp.path().join("import.csv");
    let log = tmp.path().join("import.log");

    // Round 0 runs to the end: a committed batch, and how long a whole
    // import takes here (the kills are spread over that span).
    write_csv(&csv, 0);
    let started = Instant::now();
    let mut run = node(
        &root,
        &[
            "import",
            "--dataset",
            "personnes_recues",
            "--by",
            "agent",
            csv.to_str().unwrap(),
        ],
        &log,
    );
    assert!(
        wait(&mut run, Duration::from_secs(60)).success(),
        "{}",
        run.log()
    );
    let full = started.elapsed();
    let mut committed = vec![0];
    tally.rounds = 1;
    check_batches(&root, &committed, 1);

    while tally.more() {
        let r = tally.rounds;
        write_csv(&csv, r);
        let mut run = node(
            &root,
            &[
                "import",
                "--dataset",
                "personnes_recues",
                "--by",
                "agent",
                csv.to_str().unwrap(),
            ],
            &log,
        );
        // The kill lands at a random point of a whole import's span (or
        // just after it): the invariants must hold wherever it lands, and
        // the exit status says whether it interrupted the work.
        std::thread::sleep(full.mul_f64(1.2 * rng.unit()));
        if kill(&mut run) {
            tally.interrupted += 1;
        } else {
            tally.finished += 1;
            committed.push(r);
        }
        tally.rounds += 1;
        check_batches(&root, &committed, tally.rounds);
        tally.checks += 1;
    }
    audit_verify_cli(&root, tmp.path());
    eprintln!("faults: import: a whole import took {full:?}");
    tally.report();
}

/// The bytes deposited in round `r`.
fn document(r: u32) -> Vec<u8> {
    pdf(format!("DOCUMENT-{r}").as_bytes(), 4 * 1024)
}

fn person(r: u32) -> String {
    format!("P-{r}")
}

/// The partial files in the node's documents folder.
fn partials(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root.join("documents"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "partial"))
                .collect()
        })
        .unwrap_or_default()
}

/// The invariants of the deposit loop, checked on the stopped node:
/// every recorded document reads back to the bytes deposited for its
/// person, every deposit that reported success and was not removed is
/// there, the store and the audit chain check. Removes the oldest
/// documents beyond three (through the library, as `document remove`
/// does), to keep the folder small over long runs.
fn check_documents(root: &Path, kept: &mut Vec<u32>) {
    let store = Store::open(&root.join("store")).expect("the store opens after a kill");
    let files = DocFiles::new(root);
    let docs = store.all_documents().unwrap();
    for doc in &docs {
        let r: u32 = doc
            .local_id
            .strip_prefix("P-")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a document from nowhere: {}", doc.local_id));
        let want = document(r);
        let got = passerelle_node::vault::read(&files, doc)
            .unwrap_or_else(|e| panic!("document of round {r} unreadable: {e}"));
        assert!(got == want, "document of round {r} reads back different");
        if !kept.contains(&r) {
            // A deposit killed after its record was written: it is whole,
            // so it counts as stored.
            kept.push(r);
        }
    }
    for &r in kept.iter() {
        assert!(
            docs.iter().any(|d| d.local_id == person(r)),
            "the document of round {r} is lost"
        );
    }
    let problems = store.check(&files).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert!(store.audit_verify().unwrap().is_ok());
    kept.sort_unstable();
    while kept.len() > 3 {
        let r = kept.remove(0);
        let doc = docs.iter().find(|d| d.local_id == person(r)).unwrap();
        passerelle_node::vault::remove(&files, &store, &doc.id, "agent", passerelle_link::now())
            .unwrap();
    }
}

#[test]
fn deposits_killed_at_random_points_leave_every_document_whole_or_absent() {
    passerelle_tests::setup();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("node");
    node_folder(&root);
    let mut rng = Rng::new(seed() ^ 0xD0C);
    let mut tally = Tally::new("deposit");
    let log = tmp.path().join("deposit.log");
    let add = |r: u32| {
        let file = tmp.path().join(format!("doc-{r}.pdf"));
        std::fs::write(&file, document(r)).unwrap();
        let p = person(r);
        let args = [
            "document",
            "add",
            "--person",
            &p,
            "--category",
            "other",
            "--by",
            "agent",
            file.to_str().unwrap(),
        ];
        node(&root, &args, &log)
    };

    // Round 0 runs to the end (it also creates the document key).
    let started = Instant::now();
    let mut run = add(0);
    assert!(
        wait(&mut run, Duration::from_secs(60)).success(),
        "{}",
        run.log()
    );
    let full = started.elapsed();
    let mut kept = vec![0];
    tally.rounds = 1;
    check_documents(&root, &mut kept);

    let size = document(0).len() as u64;
    while tally.more() {
        let r = tally.rounds;
        let before = partials(&root);
        let mut run = add(r);
        if r.is_multiple_of(2) {
            // Killed while sealing: once its partial file holds a random
            // share of the document (or when it has ended).
            let at = (size as f64 * rng.unit()) as u64;
            let deadline = Instant::now() + Duration::from_secs(60);
            while run.try_wait().is_none()
                && !partials(&root)
                    .iter()
                    .filter(|p| !before.contains(p))
                    .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() >= at))
            {
                assert!(Instant::now() < deadline, "no progress:\n{}", run.log());
                std::thread::sleep(Duration::from_millis(1));
            }
        } else {
            // Killed at a random moment of a whole deposit's span.
            std::thread::sleep(full.mul_f64(1.2 * rng.unit()));
        }
        if kill(&mut run) {
            tally.interrupted += 1;
        } else {
            tally.finished += 1;
            kept.push(r);
        }
        let _ = std::fs::remove_file(tmp.path().join(format!("doc-{r}.pdf")));
        tally.rounds += 1;
        check_documents(&root, &mut kept);
        tally.checks += 1;
    }
    audit_verify_cli(&root, tmp.path());
    eprintln!(
        "faults: deposit: a whole deposit of {size} bytes took {full:?}; {} rounds asked",
        rounds()
    );
    tally.report();
}
