//! The pure halves of a refresh, without sockets.

use passerelle_protocol::{
    aggregate::{AggregateAnswer, AnswerCell, AppliedRule, CellValue},
    geo::Level,
    message::Refusal,
    period::Period,
};

use super::*;
use crate::catalog::{Formula, Term};
use passerelle_hub_core::providers::Decision as Approval;

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
        partial: Default::default(),
        audience: Default::default(),
        reference: None,
        by: vec![],
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

/// Every claim of `nodes` approved: the plans of a hub whose operator
/// approved its providers.
fn all(nodes: &[NodeRecord]) -> Approvals {
    let mut a = Approvals::default();
    for n in nodes {
        for d in &n.datasets {
            a.set(n.node_id.clone(), d.clone(), Approval::Allowed);
        }
    }
    a
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
    let plan = plan(&recus(), &nodes, &all(&nodes), &connected);
    let asked: Vec<&str> = plan.asks.iter().map(|a| a.node_id.as_str()).collect();
    assert_eq!(asked, ["caf-976"]);
    assert_eq!(plan.asks[0].dataset, "recus");
    assert_eq!(plan.asks[0].measure, Measure::Count);
    assert_eq!(plan.failed.len(), 1);
    assert_eq!(plan.failed[0].node_id, "cd-976");
    assert_eq!(plan.failed[0].why, Absence::NotConnected);
}

#[test]
fn plan_never_asks_a_claim_the_operator_did_not_approve() {
    let nodes = [
        node("caf-976", &["recus"], false),
        node("intrus", &["recus"], false),
        node("refuse", &["recus"], false),
    ];
    let mut approvals = Approvals::default();
    approvals.set(NodeId::new("caf-976").unwrap(), "recus", Approval::Allowed);
    approvals.set(NodeId::new("refuse").unwrap(), "recus", Approval::Denied);
    // Approved for another dataset only: still not a provider of this one.
    approvals.set(NodeId::new("intrus").unwrap(), "autre", Approval::Allowed);
    let plan = plan(&recus(), &nodes, &approvals, &|_| true);
    let asked: Vec<&str> = plan.asks.iter().map(|a| a.node_id.as_str()).collect();
    assert_eq!(asked, ["caf-976"]);
    assert!(
        plan.failed.is_empty(),
        "unapproved claims are not expected either"
    );
    // With no approval at all, the dataset has no provider.
    let none = plan_for_nobody(&nodes);
    assert_eq!(none.failed[0].why, Absence::NoProvider);
}

fn plan_for_nobody(nodes: &[NodeRecord]) -> Plan {
    plan(&recus(), nodes, &Approvals::default(), &|_| true)
}

#[test]
fn plan_names_a_dataset_nobody_provides_and_asks_each_measure_once() {
    let nodes = [node("caf-976", &["recus"], false)];
    let twice = indicator(Formula::Ratio(
        vec![Term::Count("recus".into())],
        vec![Term::Count("recus".into()), Term::Count("absent".into())],
    ));
    let plan = plan(&twice, &nodes, &all(&nodes), &|_| true);
    assert_eq!(plan.asks.len(), 1, "one question per node and measure");
    assert_eq!(plan.failed.len(), 1);
    assert_eq!(
        (
            plan.failed[0].node_id.as_str(),
            plan.failed[0].dataset.as_str()
        ),
        ("-", "absent")
    );
    assert_eq!(plan.failed[0].why, Absence::NoProvider);
}

#[test]
fn fold_adds_answers_keeps_provenance_and_says_who_failed() {
    let nodes = [
        node("caf-976", &["recus"], false),
        node("cd-976", &["recus"], false),
        node("ccas", &["recus"], false),
    ];
    let ind = recus();
    let p = plan(&ind, &nodes, &all(&nodes), &|_| true);
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
    let c = fold(&ind, p, replies, 99);
    assert_eq!(c.gaps.len(), 1);
    assert!(
        matches!(c.gaps[0].why, Absence::Refused(Refusal::Malformed(_))),
        "{:?}",
        c.gaps
    );
    let r = c.result;
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
    let p = plan(&ind, &nodes, &all(&nodes), &|_| true);
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
    let p = plan(&ind, &nodes, &all(&nodes), &|_| true);
    let replies = vec![Reply {
        ask: p.asks[0].clone(),
        outcome: Err(Absence::TimedOut {
            after: std::time::Duration::from_secs(5),
        }),
    }];
    let c = fold(&ind, p, replies, 7);
    assert_eq!(
        c.gaps[0].why,
        Absence::TimedOut {
            after: std::time::Duration::from_secs(5)
        }
    );
    let r = c.result;
    assert!(r.coverage.answered.is_empty());
    assert_eq!(r.coverage.failed[0].reason, "no reply within 5 s");
    assert!(r.provenance.is_empty());
    assert!(r.cells.iter().all(|c| c.status != Status::Released));
}

// The publishing rules over plan and fold: a composition missing a
// provider is a draft unless its entry allows partial publication, and a
// ratio with a partial side never is published.

use crate::{
    catalog::PartialPolicy,
    publish::{decide, Decision, HeldBack, Share},
};

fn answered(ask: &Ask, commune: &str, value: f64) -> Reply {
    reply(
        ask,
        Outcome::Answered(Answer::Aggregate(answer(&ask.dataset, commune, value))),
    )
}

fn mamoudzou(r: &IndicatorResult) -> Option<f64> {
    r.cells
        .iter()
        .find(|c| c.level == Level::Commune && c.code == "97611")
        .and_then(|c| c.value)
}

/// Two providers of `recus`: `caf-976` answers 40, `cd-976` as given.
fn two_providers(ind: &Indicator, cd: Option<Result<f64, Absence>>) -> Decision {
    let nodes = [
        node("caf-976", &["recus"], false),
        node("cd-976", &["recus"], false),
    ];
    let p = plan(ind, &nodes, &all(&nodes), &|n| {
        n.as_str() != "cd-976" || cd.is_some()
    });
    let mut replies = Vec::new();
    for ask in &p.asks {
        match (ask.node_id.as_str(), &cd) {
            ("caf-976", _) => replies.push(answered(ask, "97611", 40.0)),
            (_, Some(Ok(v))) => replies.push(answered(ask, "97611", *v)),
            (_, Some(Err(why))) => replies.push(Reply {
                ask: ask.clone(),
                outcome: Err(why.clone()),
            }),
            (_, None) => unreachable!("not asked"),
        }
    }
    decide(ind, fold(ind, p, replies, 50))
}

#[test]
fn a_complete_composition_is_published() {
    let d = two_providers(&recus(), Some(Ok(15.0)));
    let Decision::Publish(r) = d else {
        panic!("not published: {d:?}")
    };
    assert!(r.coverage.complete());
    assert_eq!(mamoudzou(&r), Some(55.0));
}

#[test]
fn a_composition_missing_a_provider_is_a_draft_that_names_it_and_why() {
    let timed_out = Absence::TimedOut {
        after: std::time::Duration::from_secs(5),
    };
    for (cd, why) in [
        (None, Absence::NotConnected),
        (Some(Err(timed_out.clone())), timed_out),
        (
            Some(Err(Absence::Outdated { has: 1, needs: 2 })),
            Absence::Outdated { has: 1, needs: 2 },
        ),
    ] {
        let d = two_providers(&recus(), cd);
        assert!(!d.published());
        let Decision::Draft(draft) = d else {
            unreachable!()
        };
        assert_eq!(draft.held_back, HeldBack::Incomplete);
        assert_eq!(draft.gaps.len(), 1, "{:?}", draft.gaps);
        assert_eq!(
            (draft.gaps[0].node_id.as_str(), &draft.gaps[0].why),
            ("cd-976", &why)
        );
        assert_eq!(draft.gaps[0].name, "Institution cd-976");
        assert_eq!(
            draft.share,
            Share {
                answered: 1,
                expected: 2
            }
        );
        // The draft keeps what was composed (half the figure), stated as such.
        assert_eq!(mamoudzou(&draft.result), Some(40.0));
        assert_eq!(draft.result.coverage.failed[0].reason, why.to_string());
    }
}

fn allowing(min_coverage: f64, mut ind: Indicator) -> Indicator {
    ind.partial = PartialPolicy::Allowed { min_coverage };
    ind
}

#[test]
fn an_entry_allowing_partial_results_publishes_them_at_or_above_its_minimum_only() {
    // One of two providers: half the expected contributions.
    let d = two_providers(&allowing(0.5, recus()), None);
    let Decision::Publish(r) = d else {
        panic!("not published: {d:?}")
    };
    assert!(!r.coverage.complete(), "its coverage says it is partial");
    assert_eq!(r.coverage.failed[0].node_id, "cd-976");
    assert_eq!(r.coverage.failed[0].reason, "not connected");
    assert_eq!(mamoudzou(&r), Some(40.0));

    let d = two_providers(&allowing(0.75, recus()), None);
    let Decision::Draft(draft) = d else {
        panic!("published below the minimum: {d:?}")
    };
    assert_eq!(
        draft.held_back,
        HeldBack::BelowMinimum { min_coverage: 0.75 }
    );

    // Nobody answered: never published, whatever the minimum.
    let nodes = [node("caf-976", &["recus"], false)];
    let ind = allowing(0.01, recus());
    let p = plan(&ind, &nodes, &all(&nodes), &|_| false);
    assert!(!decide(&ind, fold(&ind, p, vec![], 1)).published());
}

#[test]
fn a_ratio_with_a_partial_side_is_never_published_even_where_partial_is_allowed() {
    // recus (two providers) over menages (one provider, caf-976).
    let ratio = indicator(Formula::Ratio(
        vec![Term::Count("recus".into())],
        vec![Term::Count("menages".into())],
    ));
    let nodes = [
        node("caf-976", &["recus", "menages"], false),
        node("cd-976", &["recus"], false),
    ];
    let run = |ind: &Indicator, missing: (&str, &str)| {
        let p = plan(ind, &nodes, &all(&nodes), &|_| true);
        assert_eq!(p.asks.len(), 3);
        let replies = p
            .asks
            .iter()
            .map(|a| {
                if (a.node_id.as_str(), a.dataset.as_str()) == missing {
                    Reply {
                        ask: a.clone(),
                        outcome: Err(Absence::Dead {
                            silent: std::time::Duration::from_secs(3),
                        }),
                    }
                } else {
                    answered(a, "97611", 40.0)
                }
            })
            .collect();
        decide(ind, fold(ind, p, replies, 9))
    };
    // Complete: published (80 / 40).
    let Decision::Publish(r) = run(&ratio, ("none", "none")) else {
        panic!("a complete ratio is published")
    };
    assert_eq!(mamoudzou(&r), Some(2.0));
    for policy in [ratio.clone(), allowing(0.1, ratio.clone())] {
        let allowed = policy.partial != PartialPolicy::NotAllowed;
        // A partial numerator over a complete denominator (40 / 40 instead
        // of 80 / 40), and a complete numerator over a partial denominator.
        for missing in [("cd-976", "recus"), ("caf-976", "menages")] {
            let d = run(&policy, missing);
            let Decision::Draft(draft) = d else {
                panic!("partial ratio published ({missing:?}, allowed {allowed}): {d:?}")
            };
            let expected = if allowed {
                HeldBack::TwoSided
            } else {
                HeldBack::Incomplete
            };
            assert_eq!(draft.held_back, expected);
            assert_eq!(draft.gaps[0].node_id, missing.0);
            assert_eq!(draft.gaps[0].dataset, missing.1);
        }
    }
}

#[test]
fn an_indicator_reading_only_built_in_references_is_always_complete() {
    let pop = indicator(Formula::Sum(vec![Term::Population]));
    let p = plan(&pop, &[], &Approvals::default(), &|_| true);
    assert!(p.asks.is_empty() && p.failed.is_empty());
    assert!(decide(&pop, fold(&pop, p, vec![], 3)).published());
}
