//! `passerelle-hub`: see the crate documentation and `--help`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    passerelle_certs::install_crypto_provider();
    passerelle_link::init_logging();
    let cli = passerelle_hub::cli::Cli::parse();
    match passerelle_hub::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Once, in plain words: each cause of the chain a single time.
            eprintln!(
                "error: {}",
                passerelle_link::output::error_message(e.chain())
            );
            std::process::ExitCode::FAILURE
        }
    }
}
