//! The pure halves of a refresh, without sockets.

use passerelle_protocol::{
    aggregate::{AggregateAnswer, AnswerCell, AppliedRule, CellValue},
    geo::Level,
    message::Refusal,
    period::Period,
};

use super::*;
use crate::catalog::{Formula, Term};

fn node(id: &str, datasets: &[&str], revoked: bool) -> NodeRecord {
    NodeRecord {
        node_id: NodeId::new(id).unwrap(),
        name: format!("Institution {id}"),
        enrolled_at: 1,
        serial: format!("serial-{id}"),
        cert_not_after: 1_000_000,
        last_seen: None,
        version: None,
        datasets: datasets.iter().map(|d| d.to_string()).collect(),
        revoked_at: revoked.then_some(2),
    }
}

fn indicator(formula: Formula) -> Indicator {
    Indicator {
        id: "essai".into(),
        title: "Essai".into(),
        theme: "emploi".into(),
        unit: "personnes".into(),
        definition: "d".into(),
        sources: vec![],
        frequency: "annuelle".into(),
        formula,
        decimals: 0,
    }
}

fn answer(dataset: &str, commune: &str, value: f64) -> AggregateAnswer {
    AggregateAnswer {
        query: AggregateQuery {
            dataset: dataset.into(),
            measure: Measure::Count,
            periods: vec![],
            by: None,
        },
        categories: vec![],
        rule: AppliedRule {
            min_count: 11,
            dominance: None,
            rounding: None,
        },
        data_as_of: Some(42),
        cells: vec![AnswerCell {
            level: Level::Commune,
            code: commune.into(),
            period: Period::Year(2024),
            category: None,
            value: CellValue::Released(value),
        }],
    }
}

fn reply(ask: &Ask, outcome: Outcome) -> Reply {
    let body = ReplyBody {
        query_id: None,
        node_id: ask.node_id.clone(),
        issued_at: 10,
        outcome,
    };
    let signed = SignedReply {
        version: 2,
        body: ask.node_id.as_str().as_bytes().to_vec(),
        signature: vec![],
    };
    Reply {
        ask: ask.clone(),
        outcome: Ok((ask.node_id.as_str().as_bytes().to_vec(), body, signed)),
    }
}

fn recus() -> Indicator {
    indicator(Formula::Sum(vec![Term::Count("recus".into())]))
}

#[test]
fn plan_asks_connected_unrevoked_providers_and_records_the_rest() {
    let nodes = [
        node("caf-976", &["recus"], false),
        node("cd-976", &["recus"], false),
        node("ancien", &["recus"], true),
        node("ft-976", &["autre"], false),
    ];
    let connected = |n: &NodeId| n.as_str() != "cd-976";
    let plan = plan(&recus(), &nodes, &connected);
    let asked: Vec<&str> = plan.asks.iter().map(|a| a.node_id.as_str()).collect();
    assert_eq!(asked, ["caf-976"]);
    assert_eq!(plan.asks[0].dataset, "recus");
    assert_eq!(plan.asks[0].measure, Measure::Count);
    assert_eq!(plan.failed.len(), 1);
    assert_eq!(plan.failed[0].node_id, "cd-976");
    assert_eq!(plan.failed[0].reason, "not connected");
}

#[test]
fn plan_names_a_dataset_nobody_provides_and_asks_each_measure_once() {
    let nodes = [node("caf-976", &["recus"], false)];
    let twice = indicator(Formula::Ratio(
        vec![Term::Count("recus".into())],
        vec![Term::Count("recus".into()), Term::Count("absent".into())],
    ));
    let plan = plan(&twice, &nodes, &|_| true);
    assert_eq!(plan.asks.len(), 1, "one question per node and measure");
    assert_eq!(plan.failed.len(), 1);
    assert_eq!(
        (
            plan.failed[0].node_id.as_str(),
            plan.failed[0].dataset.as_str()
        ),
        ("-", "absent")
    );
}

#[test]
fn fold_adds_answers_keeps_provenance_and_says_who_failed() {
    let nodes = [
        node("caf-976", &["recus"], false),
        node("cd-976", &["recus"], false),
        node("ccas", &["recus"], false),
    ];
    let ind = recus();
    let p = plan(&ind, &nodes, &|_| true);
    assert_eq!(p.asks.len(), 3);
    let by = |id: &str| p.asks.iter().find(|a| a.node_id.as_str() == id).unwrap();
    let replies = vec![
        reply(
            by("caf-976"),
            Outcome::Answered(Answer::Aggregate(answer("recus", "97611", 40.0))),
        ),
        reply(
            by("cd-976"),
            Outcome::Answered(Answer::Aggregate(answer("recus", "97611", 15.0))),
        ),
        reply(
            by("ccas"),
            Outcome::Refused(Refusal::Malformed("nope".into())),
        ),
    ];
    let r = fold(&ind, p, replies, 99);
    assert_eq!(r.computed_at, 99);
    assert_eq!(r.indicator, "essai");
    let answered: Vec<&str> = r
        .coverage
        .answered
        .iter()
        .map(|a| a.node_id.as_str())
        .collect();
    assert_eq!(answered, ["caf-976", "cd-976"]);
    assert_eq!(r.coverage.answered[0].data_as_of, Some(42));
    assert_eq!(r.coverage.failed.len(), 1);
    assert_eq!(r.coverage.failed[0].node_id, "ccas");
    assert!(
        r.coverage.failed[0].reason.starts_with("refused: "),
        "{:?}",
        r.coverage.failed
    );
    assert!(!r.coverage.complete());
    assert_eq!(r.provenance.len(), 2);
    let mamoudzou = r
        .cells
        .iter()
        .find(|c| c.level == Level::Commune && c.code == "97611")
        .expect("Mamoudzou composed");
    assert_eq!(mamoudzou.value, Some(55.0));
    assert_eq!(mamoudzou.status, Status::Released);
}

#[test]
fn fold_does_not_depend_on_the_order_replies_arrive_in() {
    let nodes = [
        node("caf-976", &["recus"], false),
        node("cd-976", &["recus"], false),
    ];
    let ind = recus();
    let p = plan(&ind, &nodes, &|_| true);
    let mut replies: Vec<Reply> = p
        .asks
        .iter()
        .zip([12.0, 30.0])
        .map(|(a, v)| {
            reply(
                a,
                Outcome::Answered(Answer::Aggregate(answer("recus", "97607", v))),
            )
        })
        .collect();
    let first = fold(&ind, p.clone(), replies.clone(), 5);
    replies.reverse();
    let second = fold(&ind, p, replies, 5);
    assert_eq!(first, second);
}

#[test]
fn fold_turns_an_unreachable_node_into_a_stated_gap() {
    let nodes = [node("caf-976", &["recus"], false)];
    let ind = recus();
    let p = plan(&ind, &nodes, &|_| true);
    let replies = vec![Reply {
        ask: p.asks[0].clone(),
        outcome: Err("timed out after 5s".into()),
    }];
    let r = fold(&ind, p, replies, 7);
    assert!(r.coverage.answered.is_empty());
    assert_eq!(r.coverage.failed[0].reason, "timed out after 5s");
    assert!(r.provenance.is_empty());
    assert!(r.cells.iter().all(|c| c.status != Status::Released));
}
