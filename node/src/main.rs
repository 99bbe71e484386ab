//! `passerelle-node`: see the crate documentation and `--help`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    passerelle_certs::install_crypto_provider();
    passerelle_link::init_logging();
    let cli = passerelle_node::cli::Cli::parse();
    match passerelle_node::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
