//! Reading the signed record back out of a certificate PDF, to verify it offline.
//!
//! A certificate embeds exactly one file: the signed record, as an embedded file stream
//! (ISO 32000-1 §7.11.4: a stream object whose dictionary has `/Type /EmbeddedFile`). This
//! reader looks for such stream objects in the file's bytes, takes the stream's data
//! (`/Length` bytes after the `stream` keyword and its end-of-line, §7.3.8.1), inflates it
//! when `/Filter /FlateDecode`, and hands the JSON to [`crate::verify_document`].
//!
//! It reads the PDFs Atelier writes (and any PDF whose embedded-file streams are plain
//! objects with a direct `/Length`); a PDF with no embedded file, several, an indirect
//! length or another filter is refused with a message, never guessed at.
//!
//! What the verification covers: the embedded JSON (every byte of its signed part). The
//! page's drawing is *not* signed: someone could edit the visible text of a PDF and leave the
//! attachment alone. `atelier verify` therefore prints the signed claims (id, verdict, hash),
//! which must match the paper, and the QR code carries the signed hash.

use std::io::Read;

use crate::trust::TrustList;
use crate::verify::{Verified, VerifyError, verify_document};

/// True when `bytes` look like a PDF file (`%PDF-` header, ISO 32000-1 §7.5.2).
pub fn is_pdf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"%PDF-")
}

/// Why the embedded record cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExtractError {
    /// Not a PDF.
    #[error("this file is not a PDF")]
    NotPdf,
    /// No embedded file.
    #[error("this PDF holds no embedded signed record (was it made by atelier certify?)")]
    NoAttachment,
    /// More than one embedded file: which one the certificate means is ambiguous.
    #[error("this PDF holds {0} embedded files where an Atelier certificate holds one")]
    SeveralAttachments(usize),
    /// The embedded file stream cannot be read.
    #[error("the embedded signed record cannot be read: {0}")]
    Unreadable(String),
}

/// The bytes of the one embedded file of `pdf`.
pub fn embedded_record(pdf: &[u8]) -> Result<Vec<u8>, ExtractError> {
    if !is_pdf(pdf) {
        return Err(ExtractError::NotPdf);
    }
    let mut found = Vec::new();
    let needle = b"/EmbeddedFile";
    let mut from = 0;
    while let Some(pos) = find(&pdf[from..], needle).map(|p| p + from) {
        from = pos + needle.len();
        // `/EmbeddedFiles` (the name tree) is another name.
        if pdf
            .get(from)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'#')
        {
            continue;
        }
        // It must be the value of /Type: `/Type` then white space just before.
        let before = &pdf[..pos];
        let trimmed = before.trim_ascii_end();
        if !trimmed.ends_with(b"/Type") {
            continue;
        }
        found.push(pos);
    }
    match found.len() {
        0 => return Err(ExtractError::NoAttachment),
        1 => {}
        n => return Err(ExtractError::SeveralAttachments(n)),
    }
    stream_at(pdf, found[0])
}

/// The data of the stream object whose dictionary holds the byte at `pos`.
fn stream_at(pdf: &[u8], pos: usize) -> Result<Vec<u8>, ExtractError> {
    let bad = |m: &str| ExtractError::Unreadable(m.to_owned());
    let start = rfind(&pdf[..pos], b" obj").ok_or_else(|| bad("no object header"))?;
    let keyword = find(&pdf[pos..], b"stream")
        .map(|p| p + pos)
        .ok_or_else(|| bad("no stream data"))?;
    let dict = &pdf[start..keyword];
    if find(dict, b"endobj").is_some() {
        return Err(bad("the embedded file is not a stream"));
    }
    let length = dict_integer(dict, b"/Length").ok_or_else(|| {
        bad("its /Length is missing or indirect (this reader needs a direct length)")
    })?;
    let filtered = find(dict, b"/Filter").is_some();
    let flate = find(dict, b"/FlateDecode").is_some();
    if filtered && !flate {
        return Err(bad("it uses a filter other than FlateDecode"));
    }
    // The keyword is followed by CRLF or LF (§7.3.8.1).
    let mut data_start = keyword + b"stream".len();
    if pdf.get(data_start) == Some(&b'\r') {
        data_start += 1;
    }
    if pdf.get(data_start) != Some(&b'\n') {
        return Err(bad("no end of line after the stream keyword"));
    }
    data_start += 1;
    let end = data_start
        .checked_add(length)
        .filter(|&e| e <= pdf.len())
        .ok_or_else(|| bad("its /Length runs past the end of the file"))?;
    let after = pdf[end..].trim_ascii_start();
    if !after.starts_with(b"endstream") {
        return Err(bad(
            "its data does not end where /Length says (bytes were added or removed)",
        ));
    }
    let data = &pdf[data_start..end];
    if flate {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(data)
            .read_to_end(&mut out)
            .map_err(|e| bad(&format!("its compressed data is damaged: {e}")))?;
        Ok(out)
    } else {
        Ok(data.to_vec())
    }
}

/// The integer value of `key` in a dictionary's text (a direct integer only).
fn dict_integer(dict: &[u8], key: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = find(&dict[from..], key).map(|p| p + from) {
        from = p + key.len();
        let rest = &dict[from..];
        // The key must end here (`/Length1` is another key).
        if rest.first().is_some_and(|b| b.is_ascii_alphanumeric()) {
            continue;
        }
        let rest = rest.trim_ascii_start();
        let digits: Vec<u8> = rest
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .copied()
            .collect();
        if digits.is_empty() {
            return None;
        }
        // `12 0 R` is an indirect reference.
        let tail = rest[digits.len()..].trim_ascii_start();
        if tail.first().is_some_and(u8::is_ascii_digit) {
            return None;
        }
        return std::str::from_utf8(&digits).ok()?.parse().ok();
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Verifies a certificate PDF: extracts its embedded signed record and verifies it (see
/// [`crate::verify_document`]). What the check covers is in the module docs.
pub fn verify_pdf(pdf: &[u8], trusted: &TrustList) -> Result<Verified, VerifyError> {
    let json = embedded_record(pdf).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    verify_document(&json, trusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdf_with(streams: &[(&str, &[u8])]) -> Vec<u8> {
        let mut pdf = b"%PDF-1.7\n".to_vec();
        for (i, (dict, data)) in streams.iter().enumerate() {
            pdf.extend_from_slice(format!("{} 0 obj\n<<{dict}>>\nstream\n", i + 1).as_bytes());
            pdf.extend_from_slice(data);
            pdf.extend_from_slice(b"\nendstream\nendobj\n");
        }
        pdf.extend_from_slice(b"%%EOF\n");
        pdf
    }

    #[test]
    fn reads_a_plain_embedded_file() {
        let pdf = pdf_with(&[
            ("/Length 3", b"abc"),
            (
                "/Type /EmbeddedFile /Subtype /application#2Fjson /Length 4",
                b"{\"a\"}"[..4].as_ref(),
            ),
        ]);
        assert_eq!(embedded_record(&pdf).unwrap(), b"{\"a\"");
    }

    #[test]
    fn inflates_flate_streams() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"hello json").unwrap();
        let data = z.finish().unwrap();
        let dict = format!(
            "/Type /EmbeddedFile /Filter /FlateDecode /Length {}",
            data.len()
        );
        let pdf = pdf_with(&[(&dict, &data)]);
        assert_eq!(embedded_record(&pdf).unwrap(), b"hello json");
    }

    #[test]
    fn refuses_what_it_cannot_read_for_sure() {
        assert_eq!(embedded_record(b"{}"), Err(ExtractError::NotPdf));
        assert_eq!(
            embedded_record(&pdf_with(&[("/Length 3", b"abc")])),
            Err(ExtractError::NoAttachment)
        );
        let two = pdf_with(&[
            ("/Type /EmbeddedFile /Length 1", b"a"),
            ("/Type /EmbeddedFile /Length 1", b"b"),
        ]);
        assert_eq!(
            embedded_record(&two),
            Err(ExtractError::SeveralAttachments(2))
        );
        let indirect = pdf_with(&[("/Type /EmbeddedFile /Length 9 0 R", b"a")]);
        assert!(matches!(
            embedded_record(&indirect),
            Err(ExtractError::Unreadable(_))
        ));
        // One byte added to the data: /Length no longer ends at endstream.
        let grown = pdf_with(&[("/Type /EmbeddedFile /Length 1", b"ab")]);
        assert!(matches!(
            embedded_record(&grown),
            Err(ExtractError::Unreadable(_))
        ));
        let lzw = pdf_with(&[("/Type /EmbeddedFile /Filter /LZWDecode /Length 1", b"a")]);
        assert!(matches!(
            embedded_record(&lzw),
            Err(ExtractError::Unreadable(_))
        ));
    }
}
