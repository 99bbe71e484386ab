//! The one PDF the hub writes: a verifiable copy. Its first page is the
//! stamp (text, QR code); the original document is attached to the file
//! whole and unchanged, and a JPEG original is also drawn on a second page.
//! Plain PDF 1.7 objects written by hand: no fonts to embed (the standard
//! Helvetica, WinAnsi encoding), no compression.

use std::fmt::Write as _;

/// What the stamp page says.
#[derive(Debug, Clone)]
pub struct Stamp<'a> {
    /// Title, then lines of text (bold flag, text).
    pub lines: Vec<(bool, String)>,
    /// Text the QR code carries (the verification address).
    pub qr_text: &'a str,
    /// The original: file name, media type and bytes.
    pub original: (&'a str, &'a str, &'a [u8]),
}

/// Text in WinAnsi bytes, escaped for a PDF literal string.
fn pdf_text(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    out.push(b'(');
    for c in s.chars() {
        let b = match c {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                c as u8
            }
            '\u{2019}' => 0x92,
            '\u{2014}' => 0x97,
            '\u{2013}' => 0x96,
            '\u{202f}' | '\u{a0}' => b' ',
            c if (' '..='~').contains(&c) => c as u8,
            c if ('\u{a0}'..='\u{ff}').contains(&c) => c as u32 as u8,
            _ => b'?',
        };
        out.push(b);
    }
    out.push(b')');
    out
}

/// A UTF-16BE hex string, for file names.
fn pdf_unicode(s: &str) -> String {
    let mut out = String::from("<FEFF");
    for u in s.encode_utf16() {
        let _ = write!(out, "{u:04X}");
    }
    out.push('>');
    out
}

/// Width, height and colour space of a baseline or progressive JPEG.
pub fn jpeg_info(bytes: &[u8]) -> Option<(u16, u16, &'static str)> {
    let mut i = 2;
    while i + 9 < bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let h = u16::from_be_bytes([bytes[i + 5], bytes[i + 6]]);
            let w = u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]);
            let space = match bytes[i + 9] {
                1 => "/DeviceGray",
                3 => "/DeviceRGB",
                _ => return None,
            };
            return (w > 0 && h > 0).then_some((w, h, space));
        }
        i += 2 + len;
    }
    None
}

/// Writes the copy.
pub fn copy(stamp: &Stamp<'_>) -> Vec<u8> {
    let (name, mime, original) = stamp.original;
    let jpeg = if mime == "image/jpeg" {
        jpeg_info(original)
    } else {
        None
    };
    let mut content = stamp_text(&stamp.lines);
    draw_qr(&mut content, stamp.qr_text);
    let mut objects = stamp_page(name, &content, jpeg.is_some());
    objects.extend(attachment(name, mime, original));
    if let Some(info) = jpeg {
        objects.extend(image_page(info, original));
    }
    assemble(&objects)
}

/// Page 1's content stream: the frame and the lines (title, then bold or
/// plain lines).
fn stamp_text(lines: &[(bool, String)]) -> Vec<u8> {
    let mut content = Vec::new();
    content.extend_from_slice(b"0.043 0.239 0.42 RG 2 w 36 36 523 770 re S\n");
    let mut y = 770.0_f32;
    for (i, (bold, text)) in lines.iter().enumerate() {
        let (font, size) = match (i, bold) {
            (0, _) => ("F2", 20.0),
            (_, true) => ("F2", 12.0),
            _ => ("F1", 10.5),
        };
        content.extend_from_slice(format!("BT /{font} {size} Tf 54 {y:.1} Td ").as_bytes());
        content.extend_from_slice(&pdf_text(text));
        content.extend_from_slice(b" Tj ET\n");
        y -= if i == 0 { 30.0 } else { size + 7.0 };
    }
    content
}

/// Appends the QR code of `text` to page 1's content, top right, one
/// filled square per dark module (nothing when the text is too long).
fn draw_qr(content: &mut Vec<u8>, text: &str) {
    let Ok(qr) = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium) else {
        return;
    };
    let n = qr.size();
    let side = 150.0_f32;
    let m = side / n as f32;
    let (x0, y0) = (395.0_f32, 600.0_f32);
    content.extend_from_slice(b"0 g\n");
    for yy in 0..n {
        for xx in 0..n {
            if qr.get_module(xx, yy) {
                let x = x0 + xx as f32 * m;
                let yq = y0 + side - (yy + 1) as f32 * m;
                content.extend_from_slice(format!("{x:.2} {yq:.2} {m:.2} {m:.2} re\n").as_bytes());
            }
        }
    }
    content.extend_from_slice(b"f\n");
}

/// Objects 1 to 6: the catalog (naming the attachment), the page tree (with
/// the image page when there is one), page 1, its two fonts and its content.
fn stamp_page(name: &str, content: &[u8], with_image: bool) -> Vec<Vec<u8>> {
    let mut objects: Vec<Vec<u8>> = Vec::new();
    let kids = if with_image {
        "[3 0 R 10 0 R]"
    } else {
        "[3 0 R]"
    };
    let count = if with_image { 2 } else { 1 };
    let mut catalog = b"<< /Type /Catalog /Pages 2 0 R /PageMode /UseAttachments /Names << /EmbeddedFiles << /Names [".to_vec();
    catalog.extend_from_slice(pdf_unicode(name).as_bytes());
    catalog.extend_from_slice(b" 7 0 R] >> >> >>");
    objects.push(catalog);
    objects.push(format!("<< /Type /Pages /Kids {kids} /Count {count} >>").into_bytes());
    objects.push(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>".to_vec());
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objects.push(stream(&format!("<< /Length {} >>", content.len()), content));
    objects
}

/// Objects 7 and 8: the original, attached as it was received.
fn attachment(name: &str, mime: &str, original: &[u8]) -> [Vec<u8>; 2] {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !"()\\".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    [
        format!(
            "<< /Type /Filespec /F ({ascii}) /UF {} /Desc (Document original) /AFRelationship /Source /EF << /F 8 0 R >> >>",
            pdf_unicode(name)
        )
        .into_bytes(),
        stream(
            &format!(
                "<< /Type /EmbeddedFile /Subtype /{} /Params << /Size {} >> /Length {} >>",
                mime.replace('/', "#2F"),
                original.len(),
                original.len()
            ),
            original,
        ),
    ]
}

/// Objects 9 to 11, for a JPEG original: the image, a second page and its
/// content, drawing the image centred and scaled to fit the frame.
fn image_page((w, h, space): (u16, u16, &str), original: &[u8]) -> [Vec<u8>; 3] {
    let scale = (523.0 / f32::from(w)).min(770.0 / f32::from(h));
    let (dw, dh) = (f32::from(w) * scale, f32::from(h) * scale);
    let draw = format!(
        "q {dw:.2} 0 0 {dh:.2} {:.2} {:.2} cm /Im1 Do Q\n",
        36.0 + (523.0 - dw) / 2.0,
        36.0 + (770.0 - dh) / 2.0
    );
    [
        stream(
            &format!("<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace {space} /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>", original.len()),
            original,
        ),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im1 9 0 R >> >> /Contents 11 0 R >>".to_vec(),
        stream(
            &format!("<< /Length {} >>", draw.len()),
            draw.as_bytes(),
        ),
    ]
}

/// A one-page PDF of text lines (the first in bold): the demo's
/// synthetic documents.
pub fn text_page(lines: &[&str]) -> Vec<u8> {
    let mut content = Vec::new();
    let mut y = 780.0_f32;
    for (i, text) in lines.iter().enumerate() {
        let (font, size) = if i == 0 { ("F2", 16.0) } else { ("F1", 11.0) };
        content.extend_from_slice(format!("BT /{font} {size} Tf 56 {y:.1} Td ").as_bytes());
        content.extend_from_slice(&pdf_text(text));
        content.extend_from_slice(b" Tj ET\n");
        y -= size + 9.0;
    }
    let objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec(),
        stream(&format!("<< /Length {} >>", content.len()), &content),
    ];
    assemble(&objects)
}

fn assemble(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn stream(dict: &str, bytes: &[u8]) -> Vec<u8> {
    let mut o = dict.as_bytes().to_vec();
    o.extend_from_slice(b"\nstream\n");
    o.extend_from_slice(bytes);
    o.extend_from_slice(b"\nendstream");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_pdf_with_a_valid_cross_reference_table() {
        let original = b"%PDF-1.4\noriginal content\n%%EOF\n";
        let pdf = copy(&Stamp {
            lines: vec![
                (true, "COPIE VÉRIFIABLE".into()),
                (
                    false,
                    "Délivrée le 23/11/2026 (heure de Mayotte) — « test »".into(),
                ),
            ],
            qr_text: "https://passerelle.example/verifier/ABCD",
            original: ("avis (1).pdf", "application/pdf", original),
        });
        assert!(pdf.starts_with(b"%PDF-1.7"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        // The original is inside, whole.
        assert!(pdf.windows(original.len()).any(|w| w == original));
        // Every xref offset points at its object.
        let find = |needle: &[u8]| {
            pdf.windows(needle.len())
                .rposition(|w| w == needle)
                .unwrap()
        };
        let at = find(b"startxref\n") + b"startxref\n".len();
        let tail = std::str::from_utf8(&pdf[at..]).unwrap();
        let start: usize = tail.lines().next().unwrap().parse().unwrap();
        assert_eq!(start, find(b"xref\n0 "));
        let table = std::str::from_utf8(&pdf[start..]).unwrap();
        for (i, line) in table.lines().skip(3).take(8).enumerate() {
            let off: usize = line[..10].parse().unwrap();
            assert!(
                pdf[off..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
                "object {}",
                i + 1
            );
        }
        // WinAnsi: é is one byte 0xE9.
        assert!(pdf.windows(6).any(|w| w == b"COPIE ") && pdf.windows(3).any(|w| w == b"V\xc9R"));
    }

    #[test]
    fn reads_jpeg_dimensions() {
        let mut j = vec![
            0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8, 0, 20, 0, 30, 3,
        ];
        j.extend_from_slice(&[0; 16]);
        assert_eq!(jpeg_info(&j), Some((30, 20, "/DeviceRGB")));
        assert_eq!(jpeg_info(b"\xFF\xD8garbage"), None);
    }
}
