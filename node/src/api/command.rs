//! `passerelle-node token add|list|remove`: the integration API's tokens,
//! managed by the node administrator in the node folder (whether the node
//! runs or not; the running node reads them at each request).

use std::path::Path;

use clap::Subcommand;
use passerelle_link::output::{Cell, Format, Listing};

use super::tokens::{self, Scope};
use crate::paths::NodeDir;

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it once (only its hash is kept).
    Add {
        /// Who will use it, e.g. logiciel-rsa.
        #[arg(long)]
        name: String,
        /// dataset:NAME (push files of that dataset) or deposit (documents
        /// for linked persons).
        #[arg(long)]
        scope: String,
    },
    /// The tokens: name, scope, when made (never the tokens themselves).
    List {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Remove a token: it stops working at once.
    Remove {
        /// The token's name.
        #[arg(long)]
        name: String,
    },
}

/// Runs a `token` subcommand on the node folder `dir`.
///
/// # Errors
/// Not a node folder, a bad name or scope, or the tokens file fails.
pub fn run(dir: &Path, command: TokenCommand) -> anyhow::Result<()> {
    let dir = NodeDir::existing(dir)?;
    match command {
        TokenCommand::Add { name, scope } => {
            let scope = Scope::parse(&scope)?;
            if let Scope::Dataset(d) = &scope {
                let config = passerelle_config::NodeConfig::load(&dir.config())?;
                if !config.datasets.iter().any(|x| &x.name == d) {
                    anyhow::bail!(
                        "unknown dataset {d:?}: declare it under [[datasets]] in node.toml first"
                    );
                }
            }
            let (record, token) = tokens::add(dir.root(), &name, scope, passerelle_link::now())?;
            eprintln!(
                "token {} ({}) made; it is shown once, keep it in the business software's settings:",
                record.name, record.scope
            );
            println!("{token}");
        }
        TokenCommand::List { format } => {
            let mut l = Listing::new(vec!["name", "scope", "created"]);
            for t in tokens::list(dir.root())? {
                l.rows.push(vec![
                    Cell::text(&t.name),
                    Cell::text(t.scope.to_string()),
                    Cell::time(Some(t.created_at)),
                ]);
            }
            print!("{}", l.render(format));
        }
        TokenCommand::Remove { name } => {
            let gone = tokens::remove(dir.root(), &name)?;
            eprintln!("token {} ({}) removed", gone.name, gone.scope);
        }
    }
    Ok(())
}
