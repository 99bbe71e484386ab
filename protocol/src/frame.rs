//! Length-prefixed frames: a 4-byte big-endian length, then the payload.
//! The length is checked against the limit from the header alone, so an
//! oversized frame is refused before a byte of its payload is read or a
//! buffer is allocated for it.

/// Bytes in a frame header.
pub const HEADER_LEN: usize = 4;

/// Default limit for control frames (queries, answers, enrollment).
pub const MAX_CONTROL_FRAME: u32 = 4 * 1024 * 1024;

/// Why a frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The header announces more bytes than the limit allows.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Announced length.
        len: u32,
        /// Limit in force.
        max: u32,
    },
    /// A frame must carry at least one byte.
    #[error("empty frame")]
    Empty,
}

/// Reads the payload length from a header and checks it against `max`.
///
/// # Errors
/// [`FrameError::TooLarge`] when the announced length exceeds `max`,
/// [`FrameError::Empty`] when it is zero.
pub fn payload_len(header: [u8; HEADER_LEN], max: u32) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(header);
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    Ok(len as usize)
}

/// Builds the header for a payload.
///
/// # Errors
/// When the payload is empty or longer than `max`.
pub fn header(payload_len: usize, max: u32) -> Result<[u8; HEADER_LEN], FrameError> {
    let len =
        u32::try_from(payload_len).map_err(|_| FrameError::TooLarge { len: u32::MAX, max })?;
    self::payload_len(len.to_be_bytes(), max)?;
    Ok(len.to_be_bytes())
}

/// Splits one complete frame off the front of `buf`, if there is one.
/// Returns the payload and the bytes consumed.
///
/// # Errors
/// When the header announces an empty or oversized frame.
pub fn split(buf: &[u8], max: u32) -> Result<Option<(&[u8], usize)>, FrameError> {
    let Some(head) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let mut h = [0u8; HEADER_LEN];
    h.copy_from_slice(head);
    let len = payload_len(h, max)?;
    match buf.get(HEADER_LEN..HEADER_LEN + len) {
        Some(payload) => Ok(Some((payload, HEADER_LEN + len))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let payload = b"bonjour";
        let mut wire = header(payload.len(), 1024).unwrap().to_vec();
        wire.extend_from_slice(payload);
        wire.extend_from_slice(b"next");
        let (got, used) = split(&wire, 1024).unwrap().unwrap();
        assert_eq!(got, payload);
        assert_eq!(used, HEADER_LEN + payload.len());
    }

    #[test]
    fn oversized_is_refused_from_the_header_alone() {
        let header_only = (1u32 << 30).to_be_bytes();
        assert_eq!(
            split(&header_only, MAX_CONTROL_FRAME),
            Err(FrameError::TooLarge {
                len: 1 << 30,
                max: MAX_CONTROL_FRAME
            })
        );
    }

    #[test]
    fn partial_frame_waits_and_empty_is_refused() {
        let mut wire = header(10, 1024).unwrap().to_vec();
        wire.extend_from_slice(b"abc");
        assert_eq!(split(&wire, 1024), Ok(None));
        assert_eq!(split(&[0, 0], 1024), Ok(None));
        assert_eq!(split(&[0, 0, 0, 0], 1024), Err(FrameError::Empty));
        assert_eq!(
            header(2048, 1024),
            Err(FrameError::TooLarge {
                len: 2048,
                max: 1024
            })
        );
    }
}
