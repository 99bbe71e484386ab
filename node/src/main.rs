//! `passerelle-node`: see the crate documentation and `--help`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    passerelle_certs::install_crypto_provider();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PASSERELLE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = passerelle_node::cli::Cli::parse();
    match passerelle_node::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
