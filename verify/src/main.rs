//! `passerelle-verify BUNDLE [--ca-fingerprint HEX]`: checks a provenance
//! bundle and says, in plain English, what holds and what does not. Exit
//! status 0 when everything checked holds, 1 when something fails, 2 on a
//! usage error.

use std::process::ExitCode;

const USAGE: &str =
    "usage: passerelle-verify BUNDLE.json [--ca-fingerprint HEX] [--public PUBLIC.json]
                         [--regional REGIONAL.json]...

Checks a provenance bundle downloaded from a Passerelle portal (\"Vérifier
ce chiffre\"): the hub's signature, every certificate back to the network's
CA, every node signature it holds, and every published value recomputed.
Give the CA fingerprint printed on the portal with --ca-fingerprint, or
compare it with the one printed here. An auditor checking the operator's
full export gives the public bundle with --public: the export must hold
every answer the public bundle attests. A national hub's bundle built from
regional hubs' answers takes each regional hub's bundle with --regional:
each is checked in full, and must be the result the national bundle's
answer from that hub was taken from (hub of hubs).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut file = None;
    let mut fingerprint = None;
    let mut public = None;
    let mut regional = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--ca-fingerprint" => {
                let text = it.next().map(|t| t.replace([':', ' '], ""));
                match text
                    .as_deref()
                    .and_then(passerelle_protocol::hex::decode_array::<32>)
                {
                    Some(fp) => fingerprint = Some(fp),
                    None => {
                        eprintln!(
                            "--ca-fingerprint needs 64 hexadecimal digits (SHA-256)\n\n{USAGE}"
                        );
                        return ExitCode::from(2);
                    }
                }
            }
            "--public" => match it.next() {
                Some(p) => public = Some(p.clone()),
                None => {
                    eprintln!("--public needs a file\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--regional" => match it.next() {
                Some(p) => regional.push(p.clone()),
                None => {
                    eprintln!("--regional needs a file\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            f if file.is_none() && !f.starts_with('-') => file = Some(f.to_string()),
            other => {
                eprintln!("unexpected argument {other:?}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(file) = file else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read {file}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut report = passerelle_verify::check(&bytes, fingerprint);
    if let Some(p) = public {
        match std::fs::read(&p) {
            Ok(pb) => match passerelle_verify::compare(&bytes, &pb) {
                Ok(()) => report.checked.push(format!(
                    "Every answer the public bundle {p} attests is in this export."
                )),
                Err(f) => report.failures.push(f),
            },
            Err(e) => {
                eprintln!("cannot read {p}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    for r in &regional {
        let rb = match std::fs::read(r) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("cannot read {r}: {e}");
                return ExitCode::from(2);
            }
        };
        let inner = passerelle_verify::check(&rb, None);
        for fp in &inner.ca_fingerprints {
            report
                .checked
                .push(format!("{r}: regional CA fingerprint (SHA-256) {fp}"));
        }
        report
            .checked
            .extend(inner.checked.iter().map(|l| format!("{r}: {l}")));
        report
            .unchecked
            .extend(inner.unchecked.iter().map(|l| format!("{r}: {l}")));
        report.failures.extend(inner.failures);
        match passerelle_verify::chain(&bytes, &rb) {
            Ok(node) => report.checked.push(format!(
                "The answer of {node} was taken from {r}'s published result, cell for cell."
            )),
            Err(f) => report.failures.push(f),
        }
    }
    for fp in &report.ca_fingerprints {
        println!("CA fingerprint (SHA-256): {fp}");
    }
    if fingerprint.is_none() {
        println!(
            "  Compare it with the fingerprint printed on the portal, or pass --ca-fingerprint."
        );
    }
    for line in &report.checked {
        println!("ok: {line}");
    }
    for line in &report.unchecked {
        println!("not checked here: {line}");
    }
    for f in &report.failures {
        println!("FAILED: {f}");
    }
    if report.ok() {
        println!("VERIFIED");
        ExitCode::SUCCESS
    } else {
        println!("NOT VERIFIED: {} problem(s)", report.failures.len());
        ExitCode::from(1)
    }
}
