//! `passerelle-hub demo`: a hub and five demonstration nodes in one
//! process. The nodes are enrolled through the real token flow and talk to
//! the hub over real QUIC on loopback. The institutions are fictitious
//! demonstration nodes and say so in their names.

use std::{net::SocketAddr, path::Path, time::Duration};

use passerelle_config::HubAddr;
use passerelle_link::now;
use passerelle_node::{enroll, paths::NodeDir, serve::NodeHandle};
use passerelle_protocol::ids::NodeId;

pub mod data;

use passerelle_hub_core::{init, ops, paths::HubDir, HubError};

use crate::{
    cli::nodes_listing,
    server::{self, Listen},
};

/// The demonstration institutions: node id and name.
pub const INSTITUTIONS: &[(&str, &str)] = &[
    (
        "caf-976",
        "Caisse de sécurité sociale de Mayotte (démo, fictif)",
    ),
    ("emploi-976", "Agence pour l'emploi, Mayotte (démo, fictif)"),
    (
        "departement-976",
        "Conseil départemental de Mayotte (démo, fictif)",
    ),
    (
        "mission-locale-976",
        "Mission locale de Mayotte (démo, fictif)",
    ),
    (
        "mediation-numerique-976",
        "Association de médiation numérique mobile (démo, fictif)",
    ),
];

/// Runs the demo until Ctrl-C.
///
/// # Errors
/// When the hub or a node cannot start.
pub async fn run(
    root: &Path,
    quic: Option<SocketAddr>,
    http: Option<SocketAddr>,
) -> Result<(), DemoError> {
    let (hub, nodes) = start(root, quic, http).await?;
    eprintln!(
        "Passerelle demo (fictitious institutions, synthetic data) in {}",
        root.display()
    );
    eprintln!(
        "  hub: QUIC on {} (UDP), portal on http://{}",
        hub.quic_addr, hub.http_addr
    );
    let rows = ops::node_rows(&hub.ctx().hub, Some(&hub.ctx().registry))?;
    eprint!(
        "{}",
        nodes_listing(&rows).render(passerelle_link::output::Format::Table)
    );
    eprintln!(
        "{} indicators composed from the demo nodes; the generated files are in {}",
        hub.ctx().observatory.catalog.len(),
        root.join("demo-data").display()
    );
    // Partner accounts to try the partner pages, renewed at each start:
    // one of the social security fund, one of the institution running the
    // mobile programme (who writes its report).
    for (email, institution) in [
        ("agent@caf-976.demo.invalid", "caf-976"),
        DEMO_PROGRAMME_PARTNER,
    ] {
        let _ = hub.ctx().hub.store.remove_account(email);
        let inst = NodeId::new(institution).expect("valid id");
        if let Ok(password) = passerelle_hub_core::partners::add(
            &hub.ctx().hub,
            email,
            "Agent de démonstration",
            &inst,
            now(),
        ) {
            // A demonstration account: its printed password stays valid.
            if let Ok(Some(mut a)) = hub.ctx().hub.store.account(email) {
                a.must_change_password = false;
                let _ = hub.ctx().hub.store.put_account(&a);
            }
            eprintln!(
                "  partner sign-in: http://{}/partenaires  e-mail {email}  password {password}",
                hub.http_addr
            );
        }
    }
    eprintln!(
        "  programme report (fictitious targets): http://{}/partenaires/programmes",
        hub.http_addr
    );
    match seed_vault(root, &hub).await {
        Ok(()) => eprintln!(
            "  vault (fictitious person): http://{}/coffre  identifier {DEMO_PERSON}  password {DEMO_PASSWORD}",
            hub.http_addr
        ),
        Err(error) => eprintln!("  vault demo not prepared: {error}"),
    }
    eprintln!(
        "other commands reach this demo with --dir {}; Ctrl-C to stop",
        root.display()
    );
    passerelle_link::shutdown::signal().await;
    eprintln!("stopping");
    for n in nodes {
        n.stop().await;
    }
    hub.stop().await;
    Ok(())
}

/// The demo's local catalog: a theme of its own, a public indicator with
/// a reference, and a partner-only one (`catalog.toml` beside this file).
const CATALOG: &str = include_str!("catalog.toml");

/// Writes the demo's local catalog and points `catalog_dir` at it (unless
/// the operator of this demo folder set another).
fn local_catalog(hub_dir: &HubDir) -> Result<(), HubError> {
    let dir = hub_dir.root().join("catalogue");
    passerelle_link::create_private_dir(&dir).map_err(|source| HubError::Io {
        path: dir.clone(),
        source,
    })?;
    let file = dir.join("demo.toml");
    std::fs::write(&file, CATALOG).map_err(|source| HubError::Io { path: file, source })?;
    let file = dir.join("repartitions.toml");
    std::fs::write(&file, DEMO_BREAKDOWNS).map_err(|source| HubError::Io { path: file, source })?;
    let file = dir.join("programmes.toml");
    std::fs::write(&file, DEMO_PROGRAMMES).map_err(|source| HubError::Io { path: file, source })?;
    let path = hub_dir.config();
    let mut config = passerelle_config::HubConfig::load(&path).map_err(HubError::from)?;
    if config.catalog_dir.is_none() {
        config.catalog_dir = Some(dir);
        std::fs::write(&path, config.template()).map_err(|source| HubError::Io { path, source })?;
    }
    Ok(())
}
/// Shipped indicators the demo replaces to publish breakdowns: two
/// breakdowns and a total of one dataset, one dataset from two
/// institutions, the categories of a programme's activity.
const DEMO_BREAKDOWNS: &str = include_str!("repartitions.toml");
/// The demo's programmes: fictitious targets and staff counts.
const DEMO_PROGRAMMES: &str = include_str!("programmes.toml");
/// A partner of the institution running the demo's mobile programme, who
/// writes its report.
const DEMO_PROGRAMME_PARTNER: (&str, &str) = (
    "agent@mediation-numerique-976.demo.invalid",
    "mediation-numerique-976",
);

/// The demo's fictitious beneficiary.
const DEMO_PERSON: &str = "0639000001";
/// Their password: a demonstration account, never a real one.
const DEMO_PASSWORD: &str = "coffre-demo-976";

/// The demo person's documents: institution, category, file name, lines
/// of the synthetic PDF (the first is its title).
const DEMO_DOCUMENTS: [(&str, &str, &str, &[&str]); 3] = [
    (
        "caf-976",
        "social-rights",
        "attestation-droits.pdf",
        &[
            "Attestation de droits (DOCUMENT FICTIF)",
            "Démonstration Passerelle : ce document est synthétique.",
            "Allocataire de démonstration n° DEMO-0001",
            "Droits ouverts au RSA depuis le 01/01/2026 (fictif).",
        ],
    ),
    (
        "caf-976",
        "resources",
        "quotient-familial.pdf",
        &[
            "Attestation de quotient familial (DOCUMENT FICTIF)",
            "Démonstration Passerelle : ce document est synthétique.",
            "Quotient familial : 412 € (fictif).",
        ],
    ),
    (
        "departement-976",
        "housing",
        "demande-logement.pdf",
        &[
            "Récépissé de demande de logement social (DOCUMENT FICTIF)",
            "Démonstration Passerelle : ce document est synthétique.",
            "Numéro unique : DEMO-976-0001 (fictif).",
        ],
    ),
];

/// A fictitious person with documents at two demo institutions, once.
async fn seed_vault(root: &Path, hub: &server::HubHandle) -> Result<(), DemoError> {
    let ctx = hub.ctx();
    let store = &ctx.vault().store;
    if store.person_by_login(DEMO_PERSON)?.is_some() {
        return Ok(());
    }
    let created =
        passerelle_vault::accounts::create(store, DEMO_PERSON, DEMO_PASSWORD, None, now())?;
    let files = root.join("demo-data").join("coffre");
    std::fs::create_dir_all(&files).map_err(|source| HubError::Io {
        path: files.clone(),
        source,
    })?;
    let mut linked = std::collections::HashSet::new();
    for (node, category, name, lines) in DEMO_DOCUMENTS {
        let node_root = root.join("nodes").join(node);
        if !node_root.exists() {
            continue;
        }
        if linked.insert(node) {
            let (code, _) = passerelle_vault::links::new_code(store, &created.account.id, now())?;
            link_demo_person(&node_root, code).await?;
        }
        let path = files.join(name);
        std::fs::write(&path, passerelle_vault::pdf::text_page(lines)).map_err(|source| {
            HubError::Io {
                path: path.clone(),
                source,
            }
        })?;
        deposit(&node_root, category, path).await?;
    }
    Ok(())
}

/// Links the demo person's record at a node to their vault with `code`.
async fn link_demo_person(node_root: &Path, code: String) -> Result<(), DemoError> {
    passerelle_node::admin::request(
        node_root,
        passerelle_node::admin::Request::Link {
            local_id: "DEMO-0001".into(),
            code,
            by: "demo".into(),
        },
        &mut |_| {},
    )
    .await
    .map_err(node_err)?;
    Ok(())
}

/// Has a node add the file at `path` to the demo person's documents.
async fn deposit(
    node_root: &Path,
    category: &str,
    path: std::path::PathBuf,
) -> Result<(), DemoError> {
    passerelle_node::admin::request(
        node_root,
        passerelle_node::admin::Request::DocumentAdd {
            local_id: "DEMO-0001".into(),
            category: category.into(),
            path,
            by: "demo".into(),
        },
        &mut |_| {},
    )
    .await
    .map_err(node_err)?;
    Ok(())
}

/// Starts the demo hub and nodes; enrolls any node not yet enrolled.
///
/// # Errors
/// When the hub or a node cannot start.
pub async fn start(
    root: &Path,
    quic: Option<SocketAddr>,
    http: Option<SocketAddr>,
) -> Result<(server::HubHandle, Vec<NodeHandle>), DemoError> {
    let hub_dir = HubDir::create(root)?;
    if !hub_dir.ca_key().exists() {
        init::init(&hub_dir, Some("DEETS Mayotte (démo)".into()), Vec::new())?;
        // The demo's partner pages are tried without an authenticator app:
        // the second factor is offered, not required (a real hub's default
        // requires it).
        let path = hub_dir.config();
        let mut config = passerelle_config::HubConfig::load(&path).map_err(HubError::from)?;
        config.partner_totp = passerelle_config::hub::PartnerTotp::Optional;
        std::fs::write(&path, config.template()).map_err(|source| HubError::Io { path, source })?;
    }
    local_catalog(&hub_dir)?;
    let listen = Listen {
        quic: Some(quic.unwrap_or_else(|| "127.0.0.1:4433".parse().expect("addr"))),
        http: Some(http.unwrap_or_else(|| "127.0.0.1:8080".parse().expect("addr"))),
    };
    let hub = server::start(root, listen, true).await?;
    let hub_addr: HubAddr = format!("127.0.0.1:{}", hub.quic_addr.port())
        .parse()
        .expect("loopback address");
    let mut nodes = Vec::new();
    for (id, name) in INSTITUTIONS {
        let node_root = root.join("nodes").join(id);
        let node_dir = NodeDir::create(&node_root).map_err(node_err)?;
        if !node_dir.config().exists() {
            let token = ops::issue_token(
                &hub.ctx().hub,
                &NodeId::new(*id).expect("valid id"),
                name,
                now(),
            )?;
            enroll::init(&node_dir, hub_addr.clone(), &token)
                .await
                .map_err(node_err)?;
        }
        // Point the node at this run's port and give it its datasets.
        let path = node_dir.config();
        let mut config = passerelle_config::NodeConfig::load(&path).map_err(HubError::from)?;
        config.hub = hub_addr.clone();
        (config.datasets, config.policy) = data::config(id);
        config.directory = data::directory(id);
        // The demo's operator approves its own nodes' datasets.
        for d in &config.datasets {
            passerelle_hub_core::providers::decide(
                &hub.ctx().hub.store,
                &NodeId::new(*id).expect("valid id"),
                &d.name,
                passerelle_hub_core::providers::Decision::Allowed,
                now(),
            )?;
        }
        std::fs::write(&path, config.template()).map_err(|source| HubError::Io { path, source })?;
        load_data(root, id, &config, &node_dir)?;
        nodes.push(
            passerelle_node::serve::start(&node_root)
                .await
                .map_err(node_err)?,
        );
    }
    wait_ready(&hub, nodes.len(), Duration::from_secs(20)).await;
    hub.ctx().observatory.refresh_all(&hub.ctx().fed).await;
    Ok((hub, nodes))
}

/// Generates and imports the demo files of a node, once.
fn load_data(
    root: &Path,
    id: &str,
    config: &passerelle_config::NodeConfig,
    dir: &NodeDir,
) -> Result<(), DemoError> {
    let store = passerelle_node::store::Store::open(&dir.store()).map_err(node_err)?;
    if !store.datasets().map_err(node_err)?.is_empty() {
        return Ok(());
    }
    let files_dir = root.join("demo-data").join(id);
    let files = data::write_files(&files_dir, id).map_err(|source| HubError::Io {
        path: files_dir.clone(),
        source,
    })?;
    for (dataset, path) in files {
        passerelle_node::batches::import_file(
            config,
            &store,
            &dataset,
            &path,
            "démonstration",
            now(),
            &mut |_| {},
        )
        .map_err(node_err)?;
    }
    Ok(())
}

fn node_err(e: impl Into<passerelle_node::NodeError>) -> DemoError {
    DemoError::Node(e.into())
}

/// What can stop the demo from starting.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The demo hub.
    #[error(transparent)]
    Hub(#[from] HubError),
    /// A demo node.
    #[error("demo node: {0}")]
    Node(#[from] passerelle_node::NodeError),
    /// The demo person's vault.
    #[error("demo vault: {0}")]
    Vault(#[from] passerelle_vault::VaultError),
}

/// Waits until every demo node is connected and has reported its datasets.
async fn wait_ready(hub: &server::HubHandle, n: usize, patience: Duration) {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let reported = hub
            .ctx()
            .hub
            .store
            .nodes()
            .map(|v| v.iter().filter(|r| !r.datasets.is_empty()).count())
            .unwrap_or(0);
        if (hub.ctx().registry.count() >= n && reported >= n)
            || tokio::time::Instant::now() >= deadline
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod catalog_tests {
    use passerelle_observatory::catalog::{parse, Audience};

    #[test]
    fn the_demo_publishes_breakdowns_and_a_dataset_of_two_institutions() {
        let inds = parse("repartitions.toml", super::DEMO_BREAKDOWNS).expect("valid");
        let shipped = passerelle_observatory::catalog::load(None).expect("shipped catalog");
        for i in &inds {
            // Each replaces a shipped entry, keeping its formula and theme.
            let s = shipped.iter().find(|s| s.id == i.id).expect("replaces");
            assert_eq!((&s.theme, &s.formula), (&i.theme, &i.formula), "{}", i.id);
            // Every provider of its dataset shares every breakdown asked.
            let providers: Vec<_> = super::INSTITUTIONS
                .iter()
                .filter_map(|(n, _)| {
                    super::data::datasets(n)
                        .iter()
                        .find(|d| i.formula.datasets().iter().any(|x| x == d.name))
                })
                .collect();
            assert!(!providers.is_empty(), "{}", i.id);
            for d in &providers {
                for by in &i.by {
                    assert!(d.dims.iter().any(|(c, _, _)| c == by), "{} {by}", i.id);
                }
            }
        }
        assert!(inds.iter().any(|i| i.by.len() >= 2));
        let two = inds.iter().find(|i| i.id == "entrees-formation").unwrap();
        let providers = super::INSTITUTIONS
            .iter()
            .filter(|(n, _)| {
                super::data::datasets(n)
                    .iter()
                    .any(|d| d.name == "entrees_formation")
            })
            .count();
        assert_eq!((providers, two.by.len()), (2, 1));
    }

    #[test]
    fn the_demo_catalog_adds_a_theme_a_reference_and_a_partner_only_indicator() {
        let inds = parse("demo.toml", super::CATALOG).expect("the demo catalog is valid");
        assert!(inds.iter().all(|i| i.theme == "jeunesse"));
        assert_eq!(
            inds.iter()
                .filter(|i| i.audience == Audience::Partners)
                .count(),
            1
        );
        assert!(inds.iter().any(|i| i.reference.is_some()));
        // Every dataset it reads is one a demo node provides.
        for i in &inds {
            for d in i.formula.datasets() {
                assert!(
                    super::INSTITUTIONS
                        .iter()
                        .any(|(n, _)| super::data::datasets(n).iter().any(|x| x.name == d)),
                    "{d}"
                );
            }
        }
    }
}
