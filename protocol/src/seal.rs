//! Authenticated encryption at rest: documents at a node, uploads in the
//! vault, and the keys that unlock them.
//!
//! A sealed object is a short header followed by chunks of at most
//! [`CHUNK`] plaintext bytes, each sealed with AES-256-GCM (ring; hardware
//! accelerated on current x86 and ARM servers). The
//! nonce of chunk `i` is the header's random 7-byte prefix, `i` on 4 bytes
//! and a last-chunk flag: the "STREAM" construction (Hoang, Reyhanitabar,
//! Rogaway, Vizár 2015), so a chunk cannot be moved, dropped or the tail
//! truncated without the check failing. The caller's context (a document
//! id) is authenticated with every chunk, so one document's file cannot be
//! passed off as another's. Large objects are sealed and opened a chunk at
//! a time, never whole in memory.
//!
//! Keys are wrapped (sealed) under a key-encryption key with a fresh random
//! nonce.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

/// Plaintext bytes per chunk.
pub const CHUNK: usize = 64 * 1024;
/// Authentication tag bytes per chunk.
pub const TAG: usize = 16;
/// Key length.
pub const KEY_LEN: usize = 32;
const MAGIC: &[u8; 5] = b"PSLE2";
const PREFIX_LEN: usize = 7;
/// Header length.
pub const HEADER_LEN: usize = MAGIC.len() + PREFIX_LEN;

/// A 256-bit secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(pub [u8; KEY_LEN]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// Why sealed bytes do not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not a sealed object of this format.
    #[error("not a sealed object (bad header)")]
    Header,
    /// Wrong key, wrong context, or the bytes were altered, truncated or
    /// reordered.
    #[error("authentication failed: wrong key or altered bytes")]
    Auth,
    /// The object is larger than this format allows.
    #[error("object too large to seal")]
    TooLarge,
}

fn cipher(key: &Key) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key.0).expect("32-byte key"))
}

/// Fills `out` with random bytes from the operating system.
///
/// # Panics
/// If the system random source fails, which ring treats as fatal.
pub fn random(out: &mut [u8]) {
    use ring::rand::SecureRandom;
    ring::rand::SystemRandom::new()
        .fill(out)
        .expect("system random source");
}

impl Key {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut k = [0u8; KEY_LEN];
        random(&mut k);
        Self(k)
    }

    /// A key from exactly 32 bytes.
    ///
    /// # Errors
    /// When the length is not 32.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SealError> {
        Ok(Self(bytes.try_into().map_err(|_| SealError::Header)?))
    }
}

/// The chunked sealing of one object, a chunk at a time.
#[derive(Debug)]
pub struct Sealer {
    key: LessSafeKeyHolder,
    header: [u8; HEADER_LEN],
    context: Vec<u8>,
    next: u32,
}

struct LessSafeKeyHolder(LessSafeKey);

impl std::fmt::Debug for LessSafeKeyHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("key")
    }
}

fn nonce(header: &[u8; HEADER_LEN], index: u32, last: bool) -> Nonce {
    let mut n = [0u8; NONCE_LEN];
    n[..PREFIX_LEN].copy_from_slice(&header[MAGIC.len()..]);
    n[PREFIX_LEN..PREFIX_LEN + 4].copy_from_slice(&index.to_be_bytes());
    n[NONCE_LEN - 1] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

fn aad(header: &[u8; HEADER_LEN], context: &[u8]) -> Vec<u8> {
    [header.as_slice(), context].concat()
}

impl Sealer {
    /// Starts sealing under `key`, bound to `context`. Write
    /// [`Sealer::header`] first, then each sealed chunk.
    pub fn new(key: &Key, context: &[u8]) -> Self {
        let mut header = [0u8; HEADER_LEN];
        header[..MAGIC.len()].copy_from_slice(MAGIC);
        random(&mut header[MAGIC.len()..]);
        Self {
            key: LessSafeKeyHolder(cipher(key)),
            header,
            context: context.to_vec(),
            next: 0,
        }
    }

    /// The header that starts the sealed object.
    pub fn header(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    /// Seals the next chunk in place (at most [`CHUNK`] bytes; only the
    /// last may be shorter, and may be empty). Appends the tag.
    ///
    /// # Errors
    /// When the chunk is too long or the object has too many chunks.
    pub fn seal_chunk(&mut self, chunk: &mut Vec<u8>, last: bool) -> Result<(), SealError> {
        if chunk.len() > CHUNK || self.next == u32::MAX {
            return Err(SealError::TooLarge);
        }
        let n = nonce(&self.header, self.next, last);
        self.key
            .0
            .seal_in_place_append_tag(n, Aad::from(aad(&self.header, &self.context)), chunk)
            .map_err(|_| SealError::TooLarge)?;
        self.next += 1;
        Ok(())
    }
}

/// The chunked opening of one sealed object, a chunk at a time.
#[derive(Debug)]
pub struct Opener {
    key: LessSafeKeyHolder,
    header: [u8; HEADER_LEN],
    context: Vec<u8>,
    next: u32,
}

impl Opener {
    /// Starts opening an object whose first bytes are `header`.
    ///
    /// # Errors
    /// When the header is not of this format.
    pub fn new(key: &Key, context: &[u8], header: &[u8]) -> Result<Self, SealError> {
        let header: [u8; HEADER_LEN] = header.try_into().map_err(|_| SealError::Header)?;
        if &header[..MAGIC.len()] != MAGIC {
            return Err(SealError::Header);
        }
        Ok(Self {
            key: LessSafeKeyHolder(cipher(key)),
            header,
            context: context.to_vec(),
            next: 0,
        })
    }

    /// Opens the next sealed chunk in place (at most `CHUNK + TAG` bytes)
    /// and removes the tag. `last` must be true for the final chunk.
    ///
    /// # Errors
    /// [`SealError::Auth`] when the key, context, position or bytes are wrong.
    pub fn open_chunk(&mut self, chunk: &mut Vec<u8>, last: bool) -> Result<(), SealError> {
        if chunk.len() > CHUNK + TAG || chunk.len() < TAG {
            return Err(SealError::Auth);
        }
        let n = nonce(&self.header, self.next, last);
        let len = self
            .key
            .0
            .open_in_place(n, Aad::from(aad(&self.header, &self.context)), chunk)
            .map_err(|_| SealError::Auth)?
            .len();
        chunk.truncate(len);
        self.next += 1;
        Ok(())
    }
}

/// Size of the sealed form of `plain_len` bytes.
pub fn sealed_len(plain_len: u64) -> u64 {
    let chunks = plain_len / CHUNK as u64 + 1;
    HEADER_LEN as u64 + plain_len + chunks * TAG as u64
}

/// Seals a whole object held in memory.
///
/// # Errors
/// When the object is too large for the format.
pub fn seal_all(key: &Key, context: &[u8], plain: &[u8]) -> Result<Vec<u8>, SealError> {
    let mut s = Sealer::new(key, context);
    let mut out = Vec::with_capacity(sealed_len(plain.len() as u64) as usize);
    out.extend_from_slice(s.header());
    let mut chunks = plain.chunks(CHUNK).peekable();
    if chunks.peek().is_none() || plain.len().is_multiple_of(CHUNK) {
        // An empty final chunk marks the end when the data fills its chunks.
        for c in chunks {
            let mut buf = c.to_vec();
            s.seal_chunk(&mut buf, false)?;
            out.extend_from_slice(&buf);
        }
        let mut end = Vec::new();
        s.seal_chunk(&mut end, true)?;
        out.extend_from_slice(&end);
    } else {
        while let Some(c) = chunks.next() {
            let mut buf = c.to_vec();
            s.seal_chunk(&mut buf, chunks.peek().is_none())?;
            out.extend_from_slice(&buf);
        }
    }
    Ok(out)
}

/// Opens a whole sealed object held in memory.
///
/// # Errors
/// [`SealError`] when it does not open.
pub fn open_all(key: &Key, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    if sealed.len() < HEADER_LEN + TAG {
        return Err(SealError::Header);
    }
    let mut o = Opener::new(key, context, &sealed[..HEADER_LEN])?;
    let body = &sealed[HEADER_LEN..];
    let mut out = Vec::with_capacity(body.len());
    let mut chunks = body.chunks(CHUNK + TAG).peekable();
    while let Some(c) = chunks.next() {
        let mut buf = c.to_vec();
        o.open_chunk(&mut buf, chunks.peek().is_none())?;
        out.extend_from_slice(&buf);
    }
    Ok(out)
}

/// Wraps (seals) a key under a key-encryption key, bound to `context`.
pub fn wrap(kek: &Key, context: &[u8], key: &Key) -> Vec<u8> {
    let mut n = [0u8; NONCE_LEN];
    random(&mut n);
    let mut buf = key.0.to_vec();
    cipher(kek)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(n),
            Aad::from(context),
            &mut buf,
        )
        .expect("32-byte key seals");
    [n.as_slice(), &buf].concat()
}

/// Unwraps a key sealed by [`wrap`].
///
/// # Errors
/// [`SealError::Auth`] under the wrong key-encryption key or context.
pub fn unwrap(kek: &Key, context: &[u8], wrapped: &[u8]) -> Result<Key, SealError> {
    if wrapped.len() != NONCE_LEN + KEY_LEN + TAG {
        return Err(SealError::Auth);
    }
    let n: [u8; NONCE_LEN] = wrapped[..NONCE_LEN].try_into().expect("length checked");
    let mut buf = wrapped[NONCE_LEN..].to_vec();
    let plain = cipher(kek)
        .open_in_place(
            Nonce::assume_unique_for_key(n),
            Aad::from(context),
            &mut buf,
        )
        .map_err(|_| SealError::Auth)?;
    Key::from_slice(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_at_every_boundary() {
        let key = Key::generate();
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 7] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = seal_all(&key, b"doc-1", &plain).unwrap();
            assert_eq!(sealed.len() as u64, sealed_len(len as u64), "len {len}");
            assert_eq!(
                open_all(&key, b"doc-1", &sealed).unwrap(),
                plain,
                "len {len}"
            );
        }
    }

    #[test]
    fn refuses_wrong_key_context_edit_and_truncation() {
        let key = Key::generate();
        let plain = vec![7u8; 2 * CHUNK + 10];
        let sealed = seal_all(&key, b"doc-1", &plain).unwrap();
        assert_eq!(
            open_all(&Key::generate(), b"doc-1", &sealed),
            Err(SealError::Auth)
        );
        assert_eq!(open_all(&key, b"doc-2", &sealed), Err(SealError::Auth));
        let mut edited = sealed.clone();
        edited[HEADER_LEN + 5] ^= 1;
        assert_eq!(open_all(&key, b"doc-1", &edited), Err(SealError::Auth));
        // Dropping the last chunk: the new last one was not sealed as last.
        let cut = &sealed[..HEADER_LEN + 2 * (CHUNK + TAG)];
        assert_eq!(open_all(&key, b"doc-1", cut), Err(SealError::Auth));
        assert_eq!(
            open_all(&key, b"doc-1", &sealed[..4]),
            Err(SealError::Header)
        );
        // The plaintext does not appear in the sealed bytes.
        assert!(!sealed.windows(16).any(|w| w == [7u8; 16]));
    }

    #[test]
    fn wraps_keys() {
        let kek = Key::generate();
        let k = Key::generate();
        let w = wrap(&kek, b"ctx", &k);
        assert_eq!(unwrap(&kek, b"ctx", &w).unwrap(), k);
        assert_eq!(unwrap(&kek, b"other", &w), Err(SealError::Auth));
        assert_eq!(unwrap(&Key::generate(), b"ctx", &w), Err(SealError::Auth));
        assert_eq!(unwrap(&kek, b"ctx", &w[1..]), Err(SealError::Auth));
    }
}
