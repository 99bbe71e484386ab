//! Sends a handshake flood to a hub, for `bench/handshake-flood.sh`:
//! QUIC Initial packets that start handshakes and never finish them.
//!
//! `passerelle-flood HUB_ADDR [FROM_IPS] [PER_SECOND] [SECONDS]`, e.g.
//! `passerelle-flood 127.0.0.1:4433 127.0.0.2,127.0.0.3 10000 20`; the
//! rate is shared among the source addresses.

use std::time::{Duration, Instant};

use passerelle_tests::flood::Flood;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    passerelle_certs::install_crypto_provider();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let hub = args
        .first()
        .ok_or_else(|| {
            anyhow::anyhow!("usage: passerelle-flood HUB_ADDR [FROM_IPS] [PER_SECOND] [SECONDS]")
        })?
        .parse()?;
    let from = args.get(1).map_or("127.0.0.2", String::as_str);
    let per_second: u64 = args.get(2).map_or(Ok(10_000), |s| s.parse())?;
    let seconds: u64 = args.get(3).map_or(Ok(20), |s| s.parse())?;
    let mut floods = Vec::new();
    for ip in from.split(',') {
        floods.push(Flood::new(ip.parse()?, hub).await);
    }
    let start = Instant::now();
    let tick = Duration::from_millis(10);
    // A hundred ticks a second, the tick's packets shared among sources.
    let share = (per_second as usize / 100 / floods.len()).max(1);
    let mut next = start;
    while start.elapsed() < Duration::from_secs(seconds) {
        for f in &mut floods {
            f.send(share).await;
        }
        next += tick;
        tokio::time::sleep_until(next.into()).await;
    }
    let sent: u64 = floods.iter().map(|f| f.sent).sum();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{sent} Initial packets in {secs:.1} s ({:.0}/s)",
        sent as f64 / secs
    );
    Ok(())
}
