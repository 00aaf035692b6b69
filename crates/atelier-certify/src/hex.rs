//! Lowercase hexadecimal, strictly: one spelling per byte string, so that no two different
//! texts decode to the same key, hash or signature.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `bytes` as lowercase hex.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// Decodes exactly `N` bytes from `2 × N` lowercase hex digits; anything else (upper case,
/// spaces, another length) is `None`.
pub(crate) fn decode_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *slot = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_spellings() {
        let bytes = [0x00, 0x9f, 0xa0, 0xff];
        assert_eq!(encode(&bytes), "009fa0ff");
        assert_eq!(decode_array::<4>("009fa0ff"), Some(bytes));
        assert_eq!(
            decode_array::<4>("009FA0FF"),
            None,
            "upper case is another spelling"
        );
        assert_eq!(decode_array::<4>("009fa0f"), None);
        assert_eq!(decode_array::<4>("009fa0ff00"), None);
        assert_eq!(decode_array::<4>("009fa0fg"), None);
        assert_eq!(decode_array::<4>(" 09fa0ff"), None);
    }
}
