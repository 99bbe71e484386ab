//! The local admin socket.
//!
//! While `serve` runs it owns the store, so the other commands reach it
//! through a Unix socket in the state folder, owner-only. Each connection
//! carries one framed request and one framed reply. When no process
//! listens, [`call`] says so and the command opens the store itself.

use std::{future::Future, io::ErrorKind, os::unix::fs::PermissionsExt, path::Path, sync::Arc};

use passerelle_protocol::{codec, frame};
use serde::{de::DeserializeOwned, Serialize};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{UnixListener, UnixStream},
};

use crate::LinkError;

/// File name of the admin socket inside the state folder.
pub const SOCKET: &str = "admin.sock";

const MAX: u32 = frame::MAX_CONTROL_FRAME;

async fn read<T: DeserializeOwned>(s: &mut UnixStream) -> Result<T, LinkError> {
    let mut header = [0u8; frame::HEADER_LEN];
    s.read_exact(&mut header).await?;
    let mut payload = vec![0u8; frame::payload_len(header, MAX)?];
    s.read_exact(&mut payload).await?;
    Ok(codec::decode(&payload)?)
}

async fn write<T: Serialize>(s: &mut UnixStream, value: &T) -> Result<(), LinkError> {
    let payload = codec::encode(value)?;
    s.write_all(&frame::header(payload.len(), MAX)?).await?;
    s.write_all(&payload).await?;
    s.flush().await?;
    Ok(())
}

/// Binds the admin socket in `dir`, owner-only. A stale socket left by a
/// crashed process is replaced; a live one is an error (another `serve`).
///
/// # Errors
/// When another process is serving, or the socket cannot be bound.
pub async fn bind(dir: &Path) -> Result<UnixListener, LinkError> {
    let path = dir.join(SOCKET);
    if path.exists() {
        if UnixStream::connect(&path).await.is_ok() {
            return Err(LinkError::Io(std::io::Error::new(
                ErrorKind::AddrInUse,
                format!(
                    "{} is in use: another passerelle process serves this folder",
                    path.display()
                ),
            )));
        }
        std::fs::remove_file(&path)?;
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Answers admin requests until the listener is dropped.
pub async fn serve<Req, Resp, F, Fut>(listener: UnixListener, handler: F)
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + Sync + 'static,
    F: Fn(Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Resp> + Send + 'static,
{
    let handler = Arc::new(handler);
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            match read::<Req>(&mut stream).await {
                Ok(req) => {
                    let resp = handler(req).await;
                    if let Err(error) = write(&mut stream, &resp).await {
                        tracing::debug!(%error, "admin reply not delivered");
                    }
                }
                Err(error) => tracing::warn!(%error, "bad admin request"),
            }
        });
    }
}

/// Sends one request to the process serving `dir`. `Ok(None)` when no
/// process serves it.
///
/// # Errors
/// When a process answers but the exchange fails.
pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
    dir: &Path,
    req: &Req,
) -> Result<Option<Resp>, LinkError> {
    let path = dir.join(SOCKET);
    let mut stream = match UnixStream::connect(&path).await {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
            return Ok(None)
        }
        Err(e) => return Err(e.into()),
    };
    write(&mut stream, req).await?;
    Ok(Some(read(&mut stream).await?))
}
