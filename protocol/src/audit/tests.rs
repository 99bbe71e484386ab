use super::*;

/// Runs a future that never waits (the fetches below answer at once).
fn ready<T>(f: impl std::future::Future<Output = T>) -> T {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("the fetch waited"),
    }
}

#[test]
fn all_pages_are_listed_in_order_and_a_page_that_does_not_move_on_ends_the_listing() {
    let chain = chain(5);
    let paged = |at: u64| {
        let at = usize::try_from(at).expect("small");
        let end = (at + 2).min(chain.len());
        std::future::ready(Ok::<_, ()>(Page {
            records: chain[at..end].to_vec(),
            unreadable: Vec::new(),
            next: (end < chain.len()).then_some(end as u64),
        }))
    };
    assert_eq!(ready(Page::all(paged)), Ok(chain.clone()));
    // A page pointing back at itself is listed once, not forever.
    let stuck = |_| {
        std::future::ready(Ok::<_, ()>(Page {
            records: chain[..1].to_vec(),
            unreadable: Vec::new(),
            next: Some(0),
        }))
    };
    assert_eq!(ready(Page::all(stuck)), Ok(chain[..1].to_vec()));
    let failing = |_| std::future::ready(Err::<Page, _>("down"));
    assert_eq!(ready(Page::all(failing)), Err("down"));
}

fn ev(i: u64) -> Event {
    Event {
        actor: Actor::Person,
        action: Action::Download,
        person: Some("p1".into()),
        subject: format!("doc-{i}"),
        procedure: Some("RSA".into()),
        detail: String::new(),
    }
}

fn chain(n: u64) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    for i in 0..n {
        let r = Record::next(out.last(), 1000 + i, ev(i));
        out.push(r);
    }
    out
}

#[test]
fn intact_chain_verifies() {
    let c = chain(5);
    let head = verify(c.clone()).unwrap();
    assert_eq!(head.records, 5);
    assert_eq!(head.hash, hex::encode(&c[4].hash));
    assert_eq!(verify(Vec::new()).unwrap().records, 0);
}

#[test]
fn edits_removals_and_rehashing_are_found() {
    let mut c = chain(5);
    c[2].event.subject = "doc-x".into();
    assert_eq!(verify(c.clone()).unwrap_err().seq, 2);
    // Recomputing the edited record's hash moves the break to the next.
    c[2].hash = digest(2, c[2].at, &c[2].event, &c[2].prev);
    assert_eq!(verify(c.clone()).unwrap_err().seq, 3);
    let mut c = chain(5);
    c.remove(1);
    assert_eq!(verify(c).unwrap_err().seq, 1);
    let mut c = chain(5);
    c[4].at += 1;
    assert_eq!(verify(c).unwrap_err().seq, 4);
}

#[test]
fn an_undecodable_record_breaks_the_chain_after_the_good_ones_check() {
    let c = chain(4);
    let read = |bad: u64| -> Vec<Result<Read, &str>> {
        c.iter()
            .map(|r| {
                let record = if r.seq == bad { Err(()) } else { Ok(r.clone()) };
                Ok((r.seq, record, 100))
            })
            .collect()
    };
    assert_eq!(verify_read(read(2)).unwrap().unwrap_err().seq, 2);
    // An earlier edit is named first.
    let mut edited = read(3);
    if let Ok((_, Ok(r), _)) = &mut edited[1] {
        r.event.subject = "doc-x".into();
    }
    assert_eq!(verify_read(edited).unwrap().unwrap_err().seq, 1);
    assert_eq!(verify_read(read(u64::MAX)).unwrap().unwrap().records, 4);
    // The store failing ends the check with its own error.
    let mut failing = read(u64::MAX);
    failing[2] = Err("disk");
    assert_eq!(verify_read(failing), Err("disk"));
}

#[test]
fn pages_stop_at_their_count_and_say_where_to_go_on() {
    let c = chain((PAGE_RECORDS + 10) as u64);
    let read = |from: u64| {
        c.iter()
            .skip(from as usize)
            .map(|r| Ok::<_, ()>((r.seq, if r.seq == 3 { Err(()) } else { Ok(r.clone()) }, 100)))
    };
    let first = Page::gather(read(0)).unwrap();
    assert_eq!(first.records.len() + first.unreadable.len(), PAGE_RECORDS);
    assert_eq!(first.unreadable, vec![3]);
    assert_eq!(first.next, Some(PAGE_RECORDS as u64));
    let second = Page::gather(read(first.next.unwrap())).unwrap();
    assert_eq!(second.records.len(), 10);
    assert_eq!(second.next, None);
    assert_eq!(second.records[0].seq, PAGE_RECORDS as u64);
    // Large records: the byte budget ends the page first.
    let big = Page::gather(
        c.iter()
            .map(|r| Ok::<_, ()>((r.seq, Ok(r.clone()), PAGE_BYTES / 4))),
    )
    .unwrap();
    assert_eq!(big.records.len(), 4);
    assert_eq!(big.next, Some(4));
}

/// The event as it was written before actors and actions were typed.
#[derive(Serialize)]
struct TextEvent<'a> {
    actor: &'a str,
    action: &'a str,
    person: Option<String>,
    subject: String,
    procedure: Option<String>,
    detail: String,
}

#[test]
fn typed_actors_and_actions_keep_the_bytes_on_disk() {
    let actors = [
        ("person", Actor::Person),
        ("hub", Actor::Hub),
        (
            "professional:ana@cd976.fr@cd-976",
            Actor::Professional {
                account: "ana@cd976.fr".into(),
                institution: "cd-976".into(),
            },
        ),
        ("node:caf-976", Actor::Node("caf-976".into())),
        ("operator:Awa", Actor::Operator("Awa".into())),
        ("robot", Actor::Other("robot".into())),
    ];
    let mut actions: Vec<(&str, Action)> = ACTIONS.iter().map(|(a, n)| (*n, a.clone())).collect();
    actions.push(("something_new", Action::Other("something_new".into())));
    for (actor_text, actor) in &actors {
        for (action_text, action) in &actions {
            let typed = Event {
                actor: actor.clone(),
                action: action.clone(),
                person: Some("p1".into()),
                subject: "doc".into(),
                procedure: None,
                detail: "d".into(),
            };
            let text = TextEvent {
                actor: actor_text,
                action: action_text,
                person: Some("p1".into()),
                subject: "doc".into(),
                procedure: None,
                detail: "d".into(),
            };
            let bytes = codec::encode(&typed).unwrap();
            assert_eq!(
                bytes,
                codec::encode(&text).unwrap(),
                "{actor_text} {action_text}"
            );
            assert_eq!(codec::decode::<Event>(&bytes).unwrap(), typed);
        }
    }
    assert_eq!(ACTIONS.len(), 32, "every known action has its name");
}
