//! `store.dump`: every tree of a store, as bytes.
//!
//! `PSLDUMP1`, then per tree: name length (u32, big-endian), name, then per
//! record `1`, key length, key, value length, value; `0` ends the tree.

use std::io::{Read, Write};

use super::{BackupError, Snapshot, Staging};

const MAGIC: &[u8; 8] = b"PSLDUMP1";

/// The largest key, value or tree name a dump may hold.
const MAX_RECORD: usize = 1 << 30;

/// Dumps every tree of `store` into `out`; returns (tree, records).
///
/// # Errors
/// On a store or write failure.
pub fn dump<S: Snapshot>(
    store: &S,
    out: &mut impl Write,
) -> Result<Vec<(String, u64)>, BackupError> {
    let w = BackupError::WriteDump;
    let field = |out: &mut dyn Write, bytes: &[u8]| -> Result<(), BackupError> {
        out.write_all(&(bytes.len() as u32).to_be_bytes())
            .map_err(w)?;
        out.write_all(bytes).map_err(w)
    };
    out.write_all(MAGIC).map_err(w)?;
    let mut counts = Vec::new();
    for name in store.tree_names() {
        let name = name.as_ref();
        field(out, name)?;
        let mut n = 0u64;
        for kv in store.records(name).map_err(BackupError::store)? {
            let (k, v) = kv.map_err(BackupError::store)?;
            out.write_all(&[1]).map_err(w)?;
            field(out, k.as_ref())?;
            field(out, v.as_ref())?;
            n += 1;
        }
        out.write_all(&[0]).map_err(w)?;
        counts.push((String::from_utf8_lossy(name).into_owned(), n));
    }
    Ok(counts)
}

fn read_exact_vec(r: &mut impl Read, n: usize, what: &'static str) -> Result<Vec<u8>, BackupError> {
    let mut v = vec![0u8; n];
    r.read_exact(&mut v)
        .map_err(|_| BackupError::CutShort(what))?;
    Ok(v)
}

fn read_len(r: &mut impl Read, what: &'static str) -> Result<Option<usize>, BackupError> {
    let mut b = [0u8; 4];
    match r.read(&mut b[..1]) {
        Ok(0) => return Ok(None),
        Ok(_) => {}
        Err(_) => return Err(BackupError::Unreadable(what)),
    }
    r.read_exact(&mut b[1..])
        .map_err(|_| BackupError::CutShort(what))?;
    let len = u32::from_be_bytes(b) as usize;
    if len > MAX_RECORD {
        return Err(BackupError::Oversized { what, len });
    }
    Ok(Some(len))
}

/// Reads one length-prefixed field that must be there.
fn read_field(r: &mut impl Read, what: &'static str) -> Result<Vec<u8>, BackupError> {
    let len = read_len(r, what)?.ok_or(BackupError::CutShort(what))?;
    read_exact_vec(r, len, what)
}

/// Loads a dump into an empty store; returns (tree, records).
///
/// # Errors
/// When the dump is damaged (nothing is half-loaded into a live store:
/// callers load into a staging store).
pub fn load<S: Staging>(
    store: &S,
    input: &mut impl Read,
) -> Result<Vec<(String, u64)>, BackupError> {
    let magic = read_exact_vec(input, MAGIC.len(), "its header")?;
    if magic != MAGIC {
        return Err(BackupError::NotADump);
    }
    let mut counts = Vec::new();
    while let Some(len) = read_len(input, "a tree name")? {
        let name = read_exact_vec(input, len, "a tree name")?;
        let mut n = 0u64;
        loop {
            let tag = read_exact_vec(input, 1, "a record")?;
            if tag[0] == 0 {
                break;
            }
            let k = read_field(input, "a key")?;
            let v = read_field(input, "a value")?;
            store.insert(&name, &k, &v).map_err(BackupError::store)?;
            n += 1;
        }
        counts.push((String::from_utf8_lossy(&name).into_owned(), n));
    }
    store.flush().map_err(BackupError::store)?;
    Ok(counts)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::{cell::RefCell, collections::BTreeMap};

    use super::*;

    /// One tree: key, value.
    pub(crate) type Tree = BTreeMap<Vec<u8>, Vec<u8>>;

    /// A store in memory, for tests: trees by name.
    #[derive(Default)]
    pub(crate) struct Memory(pub RefCell<BTreeMap<Vec<u8>, Tree>>);

    impl Snapshot for Memory {
        type Error = std::io::Error;
        type Bytes = Vec<u8>;
        fn tree_names(&self) -> Vec<Vec<u8>> {
            self.0.borrow().keys().cloned().collect()
        }
        fn records(&self, tree: &[u8]) -> Result<super::super::Records<'_, Self>, Self::Error> {
            let records: Vec<_> = self.0.borrow()[tree]
                .iter()
                .map(|(k, v)| Ok((k.clone(), v.clone())))
                .collect();
            Ok(Box::new(records.into_iter()))
        }
        fn frozen(
            &self,
            f: &mut dyn FnMut() -> Result<(), BackupError>,
        ) -> Result<(), BackupError> {
            f()
        }
    }

    impl Staging for Memory {
        type Error = std::io::Error;
        fn insert(&self, tree: &[u8], key: &[u8], value: &[u8]) -> Result<(), Self::Error> {
            self.0
                .borrow_mut()
                .entry(tree.to_vec())
                .or_default()
                .insert(key.to_vec(), value.to_vec());
            Ok(())
        }
        fn flush(&self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    #[test]
    fn dump_and_load_round_trip_and_damage_is_named() {
        let a = Memory::default();
        a.insert(b"t1", b"k1", b"v1").unwrap();
        a.insert(b"t2", b"k2", &[7u8; 3000]).unwrap();
        a.insert(b"__sled__default", b"root", b"r").unwrap();
        let mut bytes = Vec::new();
        let counts = dump(&a, &mut bytes).unwrap();
        assert_eq!(counts.len(), 3);
        // The bytes of the format, not only a round trip.
        assert!(
            bytes.starts_with(b"PSLDUMP1\0\0\0\x0f__sled__default\x01\0\0\0\x04root\0\0\0\x01r\0")
        );
        let b = Memory::default();
        load(&b, &mut bytes.as_slice()).unwrap();
        assert_eq!(b.0.borrow()[&b"t2"[..]][&b"k2"[..]].len(), 3000);
        assert_eq!(*b.0.borrow(), *a.0.borrow());
        let c = Memory::default();
        let err = load(&c, &mut &bytes[..bytes.len() - 100])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cut short"), "{err}");
        let err = load(&c, &mut &b"PSLDUMP0"[..]).unwrap_err();
        assert!(matches!(err, BackupError::NotADump), "{err}");
    }
}
