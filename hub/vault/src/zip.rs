//! A ZIP archive written as it goes (entries stored, not compressed: the
//! documents are PDFs and photos, already compressed), for the person's
//! export. Sizes and CRC follow each entry in a data descriptor, so no
//! entry needs to be held whole.

/// The writer's bookkeeping; every method returns the bytes to send next.
#[derive(Debug, Default)]
pub struct Zip {
    offset: u64,
    central: Vec<u8>,
    entries: u16,
    current: Option<(Vec<u8>, u64, crc32fast::Hasher, u64)>,
}

/// An archive too large for this writer (no ZIP64).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("export too large for one archive (4 GiB or 65,535 files)")]
pub struct TooLarge;

const DOS_DATE: u16 = (46 << 9) | (1 << 5) | 1; // 2026-01-01: ZIP stores local dates only.

impl Zip {
    /// Starts an entry.
    ///
    /// # Errors
    /// When the archive would exceed the format's limits.
    pub fn start(&mut self, name: &str) -> Result<Vec<u8>, TooLarge> {
        if self.entries == u16::MAX || self.offset > u64::from(u32::MAX) {
            return Err(TooLarge);
        }
        let name = name.as_bytes().to_vec();
        let mut h = Vec::with_capacity(30 + name.len());
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&20u16.to_le_bytes()); // version needed
        h.extend_from_slice(&(0x0008u16 | 0x0800).to_le_bytes()); // descriptor, UTF-8 names
        h.extend_from_slice(&0u16.to_le_bytes()); // stored
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&DOS_DATE.to_le_bytes());
        h.extend_from_slice(&[0; 12]); // crc, sizes: in the descriptor
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&name);
        self.current = Some((name, self.offset, crc32fast::Hasher::new(), 0));
        self.offset += h.len() as u64;
        Ok(h)
    }

    /// Notes bytes of the current entry (the caller sends them as they are).
    pub fn data(&mut self, bytes: &[u8]) {
        if let Some((_, _, crc, size)) = &mut self.current {
            crc.update(bytes);
            *size += bytes.len() as u64;
        }
        self.offset += bytes.len() as u64;
    }

    /// Ends the current entry.
    ///
    /// # Errors
    /// When the entry is too large for the format.
    pub fn end(&mut self) -> Result<Vec<u8>, TooLarge> {
        let Some((name, at, crc, size)) = self.current.take() else {
            return Ok(Vec::new());
        };
        let size32 = u32::try_from(size).map_err(|_| TooLarge)?;
        let at32 = u32::try_from(at).map_err(|_| TooLarge)?;
        let crc = crc.finalize();
        let mut d = Vec::with_capacity(16);
        d.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
        d.extend_from_slice(&crc.to_le_bytes());
        d.extend_from_slice(&size32.to_le_bytes());
        d.extend_from_slice(&size32.to_le_bytes());
        self.offset += d.len() as u64;
        let c = &mut self.central;
        c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        c.extend_from_slice(&20u16.to_le_bytes());
        c.extend_from_slice(&20u16.to_le_bytes());
        c.extend_from_slice(&(0x0008u16 | 0x0800).to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes());
        c.extend_from_slice(&DOS_DATE.to_le_bytes());
        c.extend_from_slice(&crc.to_le_bytes());
        c.extend_from_slice(&size32.to_le_bytes());
        c.extend_from_slice(&size32.to_le_bytes());
        c.extend_from_slice(&(name.len() as u16).to_le_bytes());
        c.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        c.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        c.extend_from_slice(&at32.to_le_bytes());
        c.extend_from_slice(&name);
        self.entries += 1;
        Ok(d)
    }

    /// The central directory and its end record.
    ///
    /// # Errors
    /// When the archive is too large for the format.
    pub fn finish(mut self) -> Result<Vec<u8>, TooLarge> {
        let mut out = self.end()?;
        let start = u32::try_from(self.offset).map_err(|_| TooLarge)?;
        let len = u32::try_from(self.central.len()).map_err(|_| TooLarge)?;
        out.extend_from_slice(&self.central);
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.entries.to_le_bytes());
        out.extend_from_slice(&self.entries.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        Ok(out)
    }
}

/// Writes a whole archive in memory (tests, small exports).
///
/// # Errors
/// When it is too large for the format.
pub fn archive(files: &[(&str, &[u8])]) -> Result<Vec<u8>, TooLarge> {
    let mut z = Zip::default();
    let mut out = Vec::new();
    for (name, bytes) in files {
        out.extend(z.start(name)?);
        z.data(bytes);
        out.extend_from_slice(bytes);
        out.extend(z.end()?);
    }
    out.extend(z.finish()?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn unzip_reads_it_back() {
        let bytes = super::archive(&[
            ("manifeste.json", b"{}"),
            ("déposés/avis.pdf", b"%PDF-1.4 x"),
        ])
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zip");
        std::fs::write(&path, &bytes).unwrap();
        // Python's zipfile checks the CRCs and the central directory.
        let ok = std::process::Command::new("python3")
            .args(["-c", "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(sorted(z.namelist())); assert z.read('déposés/avis.pdf')==b'%PDF-1.4 x'"])
            .arg(&path)
            .output()
            .expect("python3 runs");
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(String::from_utf8_lossy(&ok.stdout).contains("manifeste.json"));
    }
}
