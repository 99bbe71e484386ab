//! The directory beyond nodes: the operator adds actors that run no node
//! with `passerelle-hub directory add` (through the running hub's admin
//! socket, as the command does); they are found by the same search as
//! the nodes' entries, and counted on the map of actors by commune.

use passerelle_hub::{
    admin::{Request, Response},
    cli::Cli,
};
use passerelle_hub_core::actors::Action;
use passerelle_protocol::geo;
use passerelle_tests::{http_get, Net};

async fn hub_command(net: &Net, args: &[&str]) -> Result<(), String> {
    use clap::Parser;
    let dir = net.hub_dir();
    let mut argv = vec!["passerelle-hub", "--dir", dir.to_str().unwrap()];
    argv.extend_from_slice(args);
    passerelle_hub::cli::run(Cli::try_parse_from(argv).map_err(|e| e.to_string())?)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn an_actor_without_a_node_is_searchable_and_on_the_map() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let dzaoudzi = geo::name(geo::Level::Commune, "97608").unwrap();
    hub_command(
        &net,
        &[
            "directory",
            "add",
            "--id",
            "ccas-dzaoudzi",
            "--name",
            "CCAS de Dzaoudzi",
            "--description",
            "Centre communal d'action sociale",
            "--service",
            "Domiciliation",
            "--theme",
            "acces-aux-droits",
            "--commune",
            "97608",
            "--phone",
            "0269 00 00 00",
        ],
    )
    .await
    .unwrap();
    hub_command(
        &net,
        &[
            "directory",
            "add",
            "--id",
            "referente-sud",
            "--name",
            "Assistante sociale de secteur (sud)",
            "--commune",
            "97604",
            "--commune",
            "97608",
            "--theme",
            "famille-enfance",
        ],
    )
    .await
    .unwrap();

    // Searchable like any node's entry.
    let (status, _, all) = http_get(hub.http_addr, "/annuaire").await;
    assert_eq!(status, 200);
    assert!(
        all.contains("CCAS de Dzaoudzi")
            && all.contains("Domiciliation")
            && all.contains("2 structure(s)."),
        "{all}"
    );
    let (_, _, found) = http_get(hub.http_addr, "/annuaire?q=domiciliation").await;
    assert!(
        found.contains("1 structure(s).") && found.contains("CCAS de Dzaoudzi"),
        "{found}"
    );
    let (_, _, here) = http_get(
        hub.http_addr,
        "/annuaire?commune=97608&theme=acces-aux-droits",
    )
    .await;
    assert!(
        here.contains("1 structure(s).") && here.contains("CCAS de Dzaoudzi"),
        "{here}"
    );
    let (_, _, elsewhere) = http_get(hub.http_addr, "/annuaire?commune=97601").await;
    assert!(elsewhere.contains("0 structure(s).") && !elsewhere.contains("CCAS de Dzaoudzi"));

    // On the map, by commune: two actors serve Dzaoudzi, none Acoua; the
    // table under the map says the same.
    assert!(
        all.contains("Carte des acteurs par commune") && all.contains("<svg"),
        "{all}"
    );
    assert!(all.contains(&format!("{dzaoudzi} : 2 acteur(s)")), "{all}");
    assert!(all.contains("Acoua : 0 acteur(s)"), "{all}");
    assert!(
        all.contains(&format!("<th scope=\"row\">{dzaoudzi}</th><td>2</td>")),
        "{all}"
    );
    assert!(all.contains("data-code=\"97608\""), "{all}");
    // The map follows the search.
    assert!(
        found.contains(&format!("{dzaoudzi} : 1 acteur(s)")),
        "{found}"
    );

    // Listed (only the operator's entries), refused when bad, removed.
    let rows =
        match passerelle_hub::admin::request(&net.hub_dir(), Request::Directory(Action::List))
            .await
            .unwrap()
        {
            Response::Actors(rows) => rows,
            other => panic!("{other:?}"),
        };
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["ccas-dzaoudzi", "referente-sud"]);
    let bad = hub_command(
        &net,
        &[
            "directory",
            "add",
            "--id",
            "asso-x",
            "--name",
            "X",
            "--commune",
            "75056",
        ],
    )
    .await
    .unwrap_err();
    assert!(bad.contains("75056"), "{bad}");
    let bad = hub_command(&net, &["directory", "add", "--id", "Asso X", "--name", "X"])
        .await
        .unwrap_err();
    assert!(bad.contains("--id"), "{bad}");
    hub_command(&net, &["directory", "remove", "--id", "ccas-dzaoudzi"])
        .await
        .unwrap();
    let unknown = hub_command(&net, &["directory", "remove", "--id", "ccas-dzaoudzi"])
        .await
        .unwrap_err();
    assert!(
        unknown.contains("no directory entry ccas-dzaoudzi"),
        "{unknown}"
    );
    let (_, _, after) = http_get(hub.http_addr, "/annuaire").await;
    assert!(
        !after.contains("CCAS de Dzaoudzi") && after.contains("1 structure(s)."),
        "{after}"
    );
    hub.stop().await;
}
