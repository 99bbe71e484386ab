//! One framed message at a time on a QUIC stream. The header is read and
//! checked before a buffer for the payload is allocated.

use passerelle_protocol::{codec, frame};
use serde::{de::DeserializeOwned, Serialize};

use crate::LinkError;

/// Reads one frame's payload.
///
/// # Errors
/// [`LinkError::Frame`] when the header announces too much (nothing more is
/// read), or a read error.
pub async fn read_frame(recv: &mut quinn::RecvStream, max: u32) -> Result<Vec<u8>, LinkError> {
    let mut header = [0u8; frame::HEADER_LEN];
    recv.read_exact(&mut header)
        .await
        .map_err(|e| LinkError::Read(e.to_string()))?;
    let len = frame::payload_len(header, max)?;
    let mut payload = vec![0u8; len];
    recv.read_exact(&mut payload)
        .await
        .map_err(|e| LinkError::Read(e.to_string()))?;
    Ok(payload)
}

/// Time a peer has to send a whole request once its stream is open: a
/// stream that stays unfinished longer is dropped, so it holds nothing.
pub const READ_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads and decodes one message within `deadline`.
///
/// # Errors
/// [`LinkError::Timeout`] when the message is not complete in time; else
/// as [`read_message`].
pub async fn read_message_within<T: DeserializeOwned>(
    recv: &mut quinn::RecvStream,
    max: u32,
    deadline: std::time::Duration,
) -> Result<T, LinkError> {
    tokio::time::timeout(deadline, read_message(recv, max))
        .await
        .map_err(|_| LinkError::Timeout(deadline))?
}

/// Writes one frame.
///
/// # Errors
/// When the payload breaks the limit or the write fails.
pub async fn write_frame(
    send: &mut quinn::SendStream,
    payload: &[u8],
    max: u32,
) -> Result<(), LinkError> {
    let header = frame::header(payload.len(), max)?;
    send.write_all(&header)
        .await
        .map_err(|e| LinkError::Write(e.to_string()))?;
    send.write_all(payload)
        .await
        .map_err(|e| LinkError::Write(e.to_string()))?;
    Ok(())
}

/// Reads and decodes one message.
///
/// # Errors
/// As [`read_frame`], or when the payload does not decode.
pub async fn read_message<T: DeserializeOwned>(
    recv: &mut quinn::RecvStream,
    max: u32,
) -> Result<T, LinkError> {
    Ok(codec::decode(&read_frame(recv, max).await?)?)
}

/// Encodes and writes one message, then finishes the stream.
///
/// # Errors
/// As [`write_frame`].
pub async fn write_message<T: Serialize>(
    send: &mut quinn::SendStream,
    value: &T,
    max: u32,
) -> Result<(), LinkError> {
    write_frame(send, &codec::encode(value)?, max).await?;
    send.finish().map_err(|e| LinkError::Write(e.to_string()))?;
    Ok(())
}

/// Opens a stream, sends a request and reads the reply, within `timeout`.
///
/// # Errors
/// On timeout, on any stream error, or when the reply does not decode.
pub async fn exchange<Q: Serialize, R: DeserializeOwned>(
    conn: &quinn::Connection,
    request: &Q,
    max: u32,
    timeout: std::time::Duration,
) -> Result<R, LinkError> {
    let work = async {
        let (mut send, mut recv) = conn.open_bi().await?;
        write_message(&mut send, request, max).await?;
        read_message(&mut recv, max).await
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| LinkError::Timeout(timeout))?
}
