//! The signals that stop a running `serve` (or `demo`): Ctrl-C or SIGTERM.

/// Resolves at Ctrl-C or SIGTERM.
///
/// # Panics
/// When the SIGTERM handler cannot be installed (no signal support at all).
pub async fn signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
