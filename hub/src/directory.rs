//! `passerelle-hub directory add|list|remove`: entries of the directory
//! of actors for actors that run no node (communal social centres,
//! associations, referent social workers by sector), sent over the admin
//! socket like every hub command and kept by
//! [`passerelle_hub_core::actors`].

use std::path::Path;

use clap::{Args, Subcommand};
use passerelle_hub_core::{
    actors::{Action, ActorRow},
    HubError, Refusal,
};
use passerelle_link::output::{Cell, Format, Listing};
use passerelle_protocol::directory::DirectoryEntry;

use crate::admin::{self, Request, Response};

/// `directory` subcommands.
#[derive(Debug, Subcommand)]
pub enum DirectoryAction {
    /// Add an actor without a node (or replace the entry with this id).
    Add(Box<AddArgs>),
    /// The entries added here (not those nodes publish).
    List {
        /// Output format.
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Remove an entry.
    Remove {
        /// Its id.
        #[arg(long)]
        id: String,
    },
}

/// `directory add`: the entry.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Its id: a-z, 0-9 and '-' (e.g. ccas-dzaoudzi).
    #[arg(long)]
    id: String,
    /// Public name.
    #[arg(long)]
    name: String,
    /// What it does, in plain French.
    #[arg(long, default_value = "")]
    description: String,
    /// A service offered (repeat for several).
    #[arg(long = "service")]
    services: Vec<String>,
    /// A theme id (repeat): acces-aux-droits, emploi, insertion-formation,
    /// logement-hebergement, handicap-autonomie, personnes-agees, sante,
    /// famille-enfance, numerique.
    #[arg(long = "theme")]
    themes: Vec<String>,
    /// INSEE code of a commune covered (repeat; none: the whole
    /// department), e.g. the sector of a referent social worker.
    #[arg(long = "commune")]
    communes: Vec<String>,
    /// Postal address.
    #[arg(long, default_value = "")]
    address: String,
    /// Telephone.
    #[arg(long, default_value = "")]
    phone: String,
    /// E-mail.
    #[arg(long, default_value = "")]
    email: String,
    /// Web site (https://…).
    #[arg(long, default_value = "")]
    website: String,
    /// Opening hours.
    #[arg(long, default_value = "")]
    hours: String,
}

/// The operator's entries as a listing.
pub fn listing(rows: &[ActorRow]) -> Listing {
    let mut l = Listing::new(vec!["id", "name", "communes", "themes", "phone", "email"]);
    for r in rows {
        l.rows.push(vec![
            Cell::text(&r.id),
            Cell::text(&r.entry.name),
            if r.entry.communes.is_empty() {
                Cell::coded("whole department", "")
            } else {
                Cell::list(&r.entry.communes, " ")
            },
            Cell::list(&r.entry.themes, " "),
            Cell::text(&r.entry.phone),
            Cell::text(&r.entry.email),
        ]);
    }
    l
}

/// Runs a `directory` subcommand against the hub of `root`.
///
/// # Errors
/// A refused entry, an unknown id, or the hub's failure.
pub async fn run(root: &Path, action: DirectoryAction) -> Result<(), HubError> {
    let (act, format, done) = match action {
        DirectoryAction::Add(add) => {
            let AddArgs {
                id,
                name,
                description,
                services,
                themes,
                communes,
                address,
                phone,
                email,
                website,
                hours,
            } = *add;
            (
                Action::Add {
                    id,
                    entry: Box::new(DirectoryEntry {
                        name,
                        description,
                        services,
                        themes,
                        communes,
                        address,
                        phone,
                        email,
                        website,
                        hours,
                    }),
                },
                Format::Table,
                Some("added"),
            )
        }
        DirectoryAction::Remove { id } => (Action::Remove { id }, Format::Table, Some("removed")),
        DirectoryAction::List { format } => (Action::List, format, None),
    };
    let rows = match admin::request(root, Request::Directory(act)).await? {
        Response::Actors(rows) => rows,
        _ => return Err(Refusal::UnexpectedReply.into()),
    };
    match done {
        Some(what) => {
            for r in &rows {
                eprintln!("directory entry {} ({}) {what}", r.id, r.entry.name);
            }
        }
        None => print!("{}", listing(&rows).render(format)),
    }
    Ok(())
}
