//! `passerelle-node token add|list|remove`: the integration API's tokens,
//! managed by the node administrator in the node folder (whether the node
//! runs or not; the running node reads them at each request).

use std::path::Path;

use clap::Subcommand;
use passerelle_link::output::{Cell, Format, Listing};

use super::tokens;
use crate::{
    admin::{self, Request, Response},
    paths::NodeDir,
};

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
        /// Who makes it (written in the audit chain) [default: $USER].
        #[arg(long)]
        by: Option<String>,
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
        /// Who removes it (written in the audit chain) [default: $USER].
        #[arg(long)]
        by: Option<String>,
    },
}

/// Runs a `token` subcommand on the node folder `dir`. Making and
/// removing a token go through the running node (or its store when it is
/// stopped), which writes them in the audit chain with who acted.
///
/// # Errors
/// Not a node folder, a bad name or scope, or the tokens file or the
/// store fails.
pub async fn run(dir: &Path, command: TokenCommand) -> anyhow::Result<()> {
    let unexpected = "the running node gave an unexpected reply: are the node and this command the same version?";
    match command {
        TokenCommand::Add { name, scope, by } => {
            let req = Request::TokenAdd {
                name,
                scope,
                by: crate::cli::who(by),
            };
            let Response::Token { record, token } = admin::request(dir, req, &mut |_| {}).await?
            else {
                anyhow::bail!(unexpected);
            };
            eprintln!(
                "token {} ({}) made; it is shown once, keep it in the business software's settings:",
                record.name, record.scope
            );
            println!("{token}");
        }
        TokenCommand::List { format } => {
            let dir = NodeDir::existing(dir)?;
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
        TokenCommand::Remove { name, by } => {
            let req = Request::TokenRemove {
                name,
                by: crate::cli::who(by),
            };
            let Response::TokenRemoved(gone) = admin::request(dir, req, &mut |_| {}).await? else {
                anyhow::bail!(unexpected);
            };
            eprintln!("token {} ({}) removed", gone.name, gone.scope);
        }
    }
    Ok(())
}
