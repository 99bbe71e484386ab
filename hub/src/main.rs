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
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
