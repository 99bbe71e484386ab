//! A handshake flood: real QUIC client Initial packets (a fresh connection
//! id and TLS ClientHello each), sent from one UDP socket and never
//! followed up. Each one asks the hub to start a handshake that will not
//! finish; none answers a Retry. The packets are built by `quinn-proto`'s
//! client state machine, so they are what a real client sends.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Instant,
};

/// Sends unfinished handshakes to one hub from one address.
pub struct Flood {
    socket: tokio::net::UdpSocket,
    endpoint: quinn_proto::Endpoint,
    config: quinn::ClientConfig,
    hub: SocketAddr,
    made: usize,
    /// Initial packets sent so far.
    pub sent: u64,
}

impl Flood {
    /// A flood from `from` (any port) to `hub`, asking for the link ALPN.
    ///
    /// # Panics
    /// When the socket cannot be bound (e.g. `from` is not a local address).
    pub async fn new(from: IpAddr, hub: SocketAddr) -> Self {
        let socket = tokio::net::UdpSocket::bind(SocketAddr::new(from, 0))
            .await
            .expect("flood socket");
        // The flood never reads the hub's answer: no certificate is ever
        // checked, so an empty trust store does.
        let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        tls.alpn_protocols = vec![passerelle_protocol::ALPN_LINK.to_vec()];
        let config = passerelle_link::endpoint::client_config(tls, Default::default())
            .expect("client config");
        Self {
            socket,
            endpoint: Self::fresh_endpoint(),
            config,
            hub,
            made: 0,
            sent: 0,
        }
    }

    fn fresh_endpoint() -> quinn_proto::Endpoint {
        quinn_proto::Endpoint::new(
            Arc::new(quinn_proto::EndpointConfig::default()),
            None,
            false,
            None,
        )
    }

    /// Sends `n` Initial packets, each opening a new handshake, yielding
    /// between batches so the socket buffers are not simply overrun.
    ///
    /// # Panics
    /// When a packet cannot be built or sent.
    pub async fn send(&mut self, n: usize) {
        let mut buf = Vec::with_capacity(1500);
        for i in 0..n {
            if self.made >= 4096 {
                // The client endpoint keeps a little per connection.
                self.endpoint = Self::fresh_endpoint();
                self.made = 0;
            }
            let now = Instant::now();
            let (_, mut conn) = self
                .endpoint
                .connect(now, self.config.clone(), self.hub, "localhost")
                .expect("client connection");
            self.made += 1;
            buf.clear();
            let transmit = conn
                .poll_transmit(now, 1, &mut buf)
                .expect("an Initial packet");
            self.socket
                .send_to(&buf[..transmit.size], self.hub)
                .await
                .expect("sent");
            self.sent += 1;
            if i % 64 == 63 {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
    }
}
