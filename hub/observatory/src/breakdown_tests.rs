//! Breakdowns in a refresh, without sockets: what is asked, how the
//! categories compose, and when a breakdown is withheld whole.

use passerelle_hub_core::providers::{Approvals, Decision as Approval};
use passerelle_hub_core::store::NodeRecord;
use passerelle_protocol::{
    aggregate::{
        AggregateAnswer, AggregateQuery, AnswerCell, AppliedRule, CellValue, Measure, Suppression,
    },
    envelope::{Outcome, ReplyBody, SignedReply},
    geo::Level,
    ids::NodeId,
    message::{Answer, Refusal},
    period::Period,
};

use crate::{
    catalog::{self, Indicator},
    compose::Status,
    publish::Absence,
    refresh::{fold, plan, Reply},
};

fn node(id: &str) -> NodeRecord {
    NodeRecord {
        node_id: NodeId::new(id).unwrap(),
        name: format!("Institution {id}"),
        enrolled_at: 1,
        serial: format!("serial-{id}"),
        cert_not_after: 1_000_000,
        last_seen: None,
        version: None,
        datasets: vec!["recus".into()],
        revoked_at: None,
    }
}

fn approved(nodes: &[NodeRecord]) -> Approvals {
    let mut a = Approvals::default();
    for n in nodes {
        a.set(n.node_id.clone(), "recus", Approval::Allowed);
    }
    a
}

fn recus_by_sex() -> Indicator {
    let toml = r#"[[indicator]]
id = "recus"
title = "Reçus"
theme = "emploi"
unit = "personnes"
definition = "d"
sources = ["s"]
frequency = "annuelle"
formula = "sum"
numerator = ["recus"]
by = ["sexe"]
"#;
    catalog::parse("t.toml", toml).unwrap().remove(0)
}

/// A node's answer for the commune of Mamoudzou: the total, or by sex.
fn answer(by: Option<&str>, cells: &[(Option<&str>, CellValue)]) -> AggregateAnswer {
    AggregateAnswer {
        query: AggregateQuery {
            dataset: "recus".into(),
            measure: Measure::Count,
            periods: vec![],
            by: by.map(String::from),
        },
        categories: if by.is_some() {
            vec!["F".into(), "M".into()]
        } else {
            vec![]
        },
        rule: AppliedRule {
            min_count: 11,
            dominance: None,
            rounding: None,
        },
        data_as_of: Some(1),
        cells: cells
            .iter()
            .map(|(cat, value)| AnswerCell {
                level: Level::Commune,
                code: "97611".into(),
                period: Period::Year(2024),
                category: cat.map(String::from),
                value: *value,
            })
            .collect(),
    }
}

fn reply(ask: &crate::refresh::Ask, outcome: Outcome) -> Reply {
    Reply {
        ask: ask.clone(),
        outcome: Ok((
            ask.node_id.as_str().as_bytes().to_vec(),
            ReplyBody {
                query_id: None,
                node_id: ask.node_id.clone(),
                issued_at: 10,
                outcome,
            },
            SignedReply {
                version: 2,
                body: vec![],
                signature: vec![],
            },
        )),
    }
}

fn value(cells: &[crate::breakdown::BreakdownCell], cat: &str) -> (Option<f64>, Status) {
    let c = cells
        .iter()
        .find(|c| c.category == cat && c.cell.level == Level::Commune && c.cell.code == "97611")
        .unwrap();
    (c.cell.value, c.cell.status)
}

const R: fn(f64) -> CellValue = CellValue::Released;

#[test]
fn each_breakdown_is_asked_of_every_provider_besides_the_total() {
    let nodes = [node("caf-976"), node("cd-976")];
    let p = plan(&recus_by_sex(), &nodes, &approved(&nodes), &|_| true);
    let mut asked: Vec<(&str, Option<&str>)> = p
        .asks
        .iter()
        .map(|a| (a.node_id.as_str(), a.by.as_deref()))
        .collect();
    asked.sort();
    assert_eq!(
        asked,
        [
            ("caf-976", None),
            ("caf-976", Some("sexe")),
            ("cd-976", None),
            ("cd-976", Some("sexe"))
        ]
    );
    let by = p.asks.iter().find(|a| a.by.is_some()).unwrap();
    let passerelle_protocol::message::Query::Aggregate(q) = by.query() else {
        panic!("not an aggregate query")
    };
    assert_eq!(q.by.as_deref(), Some("sexe"));
}

#[test]
fn categories_add_up_across_nodes_and_a_withheld_cell_stays_withheld() {
    let ind = recus_by_sex();
    let nodes = [node("caf-976"), node("cd-976")];
    let p = plan(&ind, &nodes, &approved(&nodes), &|_| true);
    let replies = p
        .asks
        .iter()
        .map(|a| {
            let caf = a.node_id.as_str() == "caf-976";
            let ans = match (a.by.is_some(), caf) {
                (false, true) => answer(None, &[(None, R(50.0))]),
                (false, false) => answer(None, &[(None, R(30.0))]),
                (true, true) => answer(Some("sexe"), &[(Some("F"), R(30.0)), (Some("M"), R(20.0))]),
                (true, false) => answer(
                    Some("sexe"),
                    &[
                        (Some("F"), R(25.0)),
                        (Some("M"), CellValue::Suppressed(Suppression::Threshold)),
                    ],
                ),
            };
            reply(a, Outcome::Answered(Answer::Aggregate(ans)))
        })
        .collect();
    let c = fold(&ind, p, replies, 100).result;
    assert_eq!(c.breakdowns.len(), 1);
    let b = &c.breakdowns[0];
    assert_eq!(b.by, "sexe");
    assert_eq!(b.categories, ["F", "M"]);
    assert!(b.published(), "{:?}", b.failed);
    assert_eq!(b.provenance.len(), 2);
    assert_eq!(value(&b.cells, "F"), (Some(55.0), Status::Released));
    // 20 at one node, withheld at the other: never published as 20.
    assert_eq!(value(&b.cells, "M"), (None, Status::Suppressed));
    // The total is composed from the totals alone, as before.
    let total = c
        .cells
        .iter()
        .find(|x| x.level == Level::Commune && x.code == "97611")
        .unwrap();
    assert_eq!(total.value, Some(80.0));
    assert_eq!(c.provenance.len(), 2);
}

#[test]
fn a_breakdown_one_provider_refuses_or_mislabels_is_withheld_whole() {
    let ind = recus_by_sex();
    let nodes = [node("caf-976"), node("cd-976")];
    let p = plan(&ind, &nodes, &approved(&nodes), &|_| true);
    let replies = p
        .asks
        .iter()
        .map(|a| match (a.by.is_some(), a.node_id.as_str()) {
            (false, _) => reply(
                a,
                Outcome::Answered(Answer::Aggregate(answer(None, &[(None, R(40.0))]))),
            ),
            (true, "caf-976") => reply(
                a,
                Outcome::Answered(Answer::Aggregate(answer(
                    Some("sexe"),
                    &[(Some("F"), R(30.0)), (Some("M"), R(10.0))],
                ))),
            ),
            (true, _) => reply(
                a,
                Outcome::Refused(Refusal::Malformed("sexe not shared".into())),
            ),
        })
        .collect();
    let c = fold(&ind, p, replies, 100).result;
    let b = &c.breakdowns[0];
    assert!(!b.published());
    assert!(b.cells.is_empty(), "half a breakdown is never published");
    assert_eq!(b.failed.len(), 1);
    assert_eq!(b.failed[0].node_id, "cd-976");
    assert!(c.coverage.complete(), "the total does not depend on it");

    // An answer to another question (the total, sent as the breakdown)
    // is not taken for the breakdown.
    let p = plan(&ind, &nodes[..1], &approved(&nodes[..1]), &|_| true);
    let replies = p
        .asks
        .iter()
        .map(|a| {
            reply(
                a,
                Outcome::Answered(Answer::Aggregate(answer(None, &[(None, R(40.0))]))),
            )
        })
        .collect();
    let c = fold(&ind, p, replies, 100).result;
    assert!(!c.breakdowns[0].published());
    assert_eq!(
        c.breakdowns[0].failed[0].reason,
        Absence::UnexpectedAnswer.to_string()
    );
}

#[test]
fn a_node_not_connected_withholds_every_breakdown() {
    let ind = recus_by_sex();
    let nodes = [node("caf-976"), node("cd-976")];
    let p = plan(&ind, &nodes, &approved(&nodes), &|n| {
        n.as_str() == "caf-976"
    });
    let replies = p
        .asks
        .iter()
        .map(|a| {
            let ans = if a.by.is_some() {
                answer(Some("sexe"), &[(Some("F"), R(30.0)), (Some("M"), R(20.0))])
            } else {
                answer(None, &[(None, R(50.0))])
            };
            reply(a, Outcome::Answered(Answer::Aggregate(ans)))
        })
        .collect();
    let c = fold(&ind, p, replies, 100).result;
    assert!(!c.breakdowns[0].published());
    assert_eq!(c.breakdowns[0].failed[0].node_id, "cd-976");
}

#[test]
fn catalog_breakdowns_are_checked() {
    let entry = |formula: &str, by: &str| {
        format!(
            r#"[[indicator]]
id = "x"
title = "X"
theme = "emploi"
unit = "u"
definition = "d"
sources = ["s"]
frequency = "f"
{formula}
by = {by}
"#
        )
    };
    let sum = r#"formula = "sum"
numerator = ["rsa"]"#;
    let ok = catalog::parse("t.toml", &entry(sum, r#"["sexe", "tranche_age"]"#)).unwrap();
    assert_eq!(ok[0].by, ["sexe", "tranche_age"]);
    for (formula, by, why) in [
        (sum, r#"["Sexe"]"#, "not a dimension name"),
        (sum, r#"["sexe", "sexe"]"#, "listed twice"),
        (sum, r#"["a", "b", "c", "d", "e"]"#, "at most 4"),
        (
            "formula = \"rate\"\nnumerator = [\"rsa\"]\ndenominator = [\"ref:population\"]\nper = 1000.0",
            r#"["sexe"]"#,
            "population",
        ),
        (
            "formula = \"territories\"\nnumerator = [\"rsa\"]",
            r#"["sexe"]"#,
            "territories",
        ),
    ] {
        let err = catalog::parse("t.toml", &entry(formula, by)).unwrap_err().to_string();
        assert!(err.contains(why), "{by}: {err}");
    }
}
