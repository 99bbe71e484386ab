//! A real SMTP server for the tests: Debian's `python3-aiosmtpd`
//! (`.ci/setup` installs it) on a free loopback port, writing what it
//! receives to a Maildir; and a small HTTP server standing for an SMS
//! gateway, recording what it is sent.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::eventually;

/// An aiosmtpd server and its Maildir; killed when dropped.
pub struct SmtpServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    dir: PathBuf,
}

/// A Python with aiosmtpd: Debian's first (a pyenv or venv `python3`
/// on the PATH may lack the package).
fn python() -> &'static str {
    for p in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(p)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return p;
        }
    }
    panic!("python3-aiosmtpd is needed (run .ci/setup)");
}

impl SmtpServer {
    /// Starts aiosmtpd on a free port, writing mail under `dir`, and
    /// waits until it accepts connections.
    pub async fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let maildir = dir.join("maildir");
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(addr.to_string())
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let server = Self {
            child,
            addr,
            dir: maildir,
        };
        eventually(
            "aiosmtpd accepts connections",
            Duration::from_secs(15),
            || async { tokio::net::TcpStream::connect(addr).await.is_ok() },
        )
        .await;
        server
    }

    /// Every message received so far (raw, headers and body).
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.dir.join(sub)) {
                for e in entries.flatten() {
                    if let Ok(text) = std::fs::read_to_string(e.path()) {
                        out.push(text);
                    }
                }
            }
        }
        out
    }

    /// The messages received for `to`, with quoted-printable soft line
    /// breaks undone.
    pub fn messages_to(&self, to: &str) -> Vec<String> {
        self.messages()
            .into_iter()
            .filter(|m| m.contains(&format!("X-RcptTo: {to}")))
            .map(|m| m.replace("=\r\n", "").replace("=\n", ""))
            .collect()
    }

    /// Waits until `n` messages reached `to`; returns them.
    pub async fn wait_for(&self, to: &str, n: usize) -> Vec<String> {
        eventually(
            &format!("{n} message(s) to {to}"),
            Duration::from_secs(20),
            || async { self.messages_to(to).len() >= n },
        )
        .await;
        self.messages_to(to)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One POST an SMS gateway received.
#[derive(Debug, Clone)]
pub struct Posted {
    /// The `Authorization` header.
    pub authorization: String,
    /// The JSON body.
    pub body: serde_json::Value,
}

/// A small HTTP server standing for an SMS gateway: it records every
/// POST to `/send` and answers 200.
pub struct SmsGateway {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it received.
    pub posted: Arc<Mutex<Vec<Posted>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmsGateway {
    /// Starts it on a free loopback port.
    pub async fn start() -> Self {
        use axum::{extract::State, http::HeaderMap, routing::post, Json, Router};
        let posted: Arc<Mutex<Vec<Posted>>> = Arc::default();
        let app = Router::new()
            .route(
                "/send",
                post(
                    |State(p): State<Arc<Mutex<Vec<Posted>>>>,
                     headers: HeaderMap,
                     Json(body): Json<serde_json::Value>| async move {
                        let authorization = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        p.lock().unwrap().push(Posted {
                            authorization,
                            body,
                        });
                        "{\"status\":\"queued\"}"
                    },
                ),
            )
            .with_state(posted.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, posted, task }
    }

    /// The texts sent to `to` (international form).
    pub fn texts_to(&self, to: &str) -> Vec<String> {
        self.posted
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.body["to"] == to)
            .filter_map(|p| p.body["text"].as_str().map(str::to_string))
            .collect()
    }
}

impl Drop for SmsGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}
