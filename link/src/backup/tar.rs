//! The few pieces of ustar a backup needs: regular files, owner-only.

use std::io::{Read, Write};

use super::BackupError;

/// A ustar header for a regular file.
pub(super) fn header(name: &str, size: u64, mtime: u64) -> Result<[u8; 512], BackupError> {
    let mut h = [0u8; 512];
    let bytes = name.as_bytes();
    if bytes.len() > 99 {
        return Err(BackupError::PathTooLong(name.to_string()));
    }
    h[..bytes.len()].copy_from_slice(bytes);
    let octal = |field: &mut [u8], v: u64| {
        let s = format!("{:0width$o}", v, width = field.len() - 1);
        field[..s.len()].copy_from_slice(s.as_bytes());
    };
    octal(&mut h[100..108], 0o600);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime);
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    Ok(h)
}

/// The name and size a header announces; `None` for a damaged size.
pub(super) fn entry(h: &[u8; 512]) -> (String, Option<u64>) {
    let end = h[..100].iter().position(|b| *b == 0).unwrap_or(100);
    let name = String::from_utf8_lossy(&h[..end]).into_owned();
    let size_text = String::from_utf8_lossy(&h[124..136]);
    let size = u64::from_str_radix(size_text.trim_matches(|c: char| c == '\0' || c == ' '), 8).ok();
    (name, size)
}

/// Padding after `size` bytes of content.
pub(super) fn padding(size: u64) -> u64 {
    (512 - (size % 512)) % 512
}

/// Appends one file to a tar stream.
pub(super) fn append(
    out: &mut impl Write,
    name: &str,
    src: &mut impl Read,
    size: u64,
    mtime: u64,
) -> Result<(), BackupError> {
    let w = BackupError::WriteArchive;
    out.write_all(&header(name, size, mtime)?).map_err(w)?;
    let copied = std::io::copy(&mut src.take(size), out).map_err(w)?;
    if copied != size {
        return Err(BackupError::ChangedSize(name.to_string()));
    }
    out.write_all(&vec![0u8; padding(size) as usize])
        .map_err(w)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_checksum_and_read_back() {
        let h = header("files/documents/x.sealed", 1234, 0).unwrap();
        let stored = u32::from_str_radix(String::from_utf8_lossy(&h[148..154]).trim(), 8).unwrap();
        let mut copy = h;
        copy[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, copy.iter().map(|b| u32::from(*b)).sum::<u32>());
        assert_eq!(
            entry(&h),
            ("files/documents/x.sealed".to_string(), Some(1234))
        );
        assert!(matches!(
            header(&"x".repeat(100), 0, 0),
            Err(BackupError::PathTooLong(_))
        ));
    }
}
