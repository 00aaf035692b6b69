//! What a pass writes, generated for any byte offset, and the check that a block read back
//! holds it.
//!
//! Random data comes from a counter-mode stream cipher keyed from the OS for each pass. The
//! stream position is the byte offset on the device, so any block can be generated on its own:
//! generation can run ahead of (or beside) writing, and verification regenerates exactly what
//! was written without keeping it.

use aes::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use serde::{Deserialize, Serialize};

use atelier_record::PassPattern;

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// The keystream generator behind the `random` pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StreamCipherKind {
    /// AES-128 in counter mode (uses AES-NI / VAES when the CPU has them).
    Aes128Ctr,
    /// ChaCha20 with a 64-bit block counter: the fallback for CPUs without AES instructions
    /// (many donated PCs), where software AES is slow.
    ChaCha20,
}

impl StreamCipherKind {
    /// The fastest generator on this CPU.
    pub fn best_for_this_cpu() -> Self {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            if std::arch::is_x86_feature_detected!("aes") {
                return Self::Aes128Ctr;
            }
            Self::ChaCha20
        }
        #[cfg(target_arch = "aarch64")]
        {
            if std::arch::is_aarch64_feature_detected!("aes") {
                return Self::Aes128Ctr;
            }
            Self::ChaCha20
        }
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
        {
            Self::ChaCha20
        }
    }

    /// Name written into records (`aes-128-ctr`, `chacha20`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes128Ctr => "aes-128-ctr",
            Self::ChaCha20 => "chacha20",
        }
    }
}

/// A 256-bit key for one random pass (AES-128 uses its first half).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamKey(#[serde(with = "hex_key")] pub [u8; 32]);

impl StreamKey {
    /// A fresh key from the operating system's random source.
    pub fn from_os() -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(Self(key))
    }
}

impl std::fmt::Debug for StreamKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamKey(…)")
    }
}

mod hex_key {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(key: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        let text: String = key.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut key = [0u8; 32];
        if text.len() != 64 {
            return Err(D::Error::custom("a stream key is 64 hex digits"));
        }
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(|_| D::Error::custom("a stream key is 64 hex digits"))?;
        }
        Ok(key)
    }
}

/// The content of one pass, ready to generate or check any block.
#[derive(Debug, Clone)]
pub enum PassContent {
    /// Keystream of `cipher` under `key`, positioned by byte offset.
    Random {
        /// The generator.
        cipher: StreamCipherKind,
        /// The pass key.
        key: StreamKey,
    },
    /// Every byte is this value.
    Constant(u8),
}

impl PassContent {
    /// The content of a pass with `pattern`; `key` is used only by [`PassPattern::Random`].
    pub fn new(pattern: PassPattern, cipher: StreamCipherKind, key: &StreamKey) -> Self {
        match pattern {
            PassPattern::Random => Self::Random {
                cipher,
                key: key.clone(),
            },
            PassPattern::Zero => Self::Constant(0x00),
            PassPattern::One => Self::Constant(0xFF),
        }
    }

    /// True when every block is the same (no generation needed after the first fill).
    pub fn is_constant(&self) -> bool {
        matches!(self, Self::Constant(_))
    }

    /// Fills `buf` with the content of the device bytes starting at `offset`.
    pub fn fill(&self, buf: &mut [u8], offset: u64) {
        match self {
            Self::Constant(byte) => buf.fill(*byte),
            Self::Random { cipher, key } => with_cipher(*cipher, key, offset, |c| {
                // Keystream straight into the buffer (XOR with a block of zeros): no separate
                // pass to zero the buffer first.
                for piece in buf.chunks_mut(ZEROS.len()) {
                    let _ = c.apply_keystream_b2b(&ZEROS[..piece.len()], piece);
                }
            }),
        }
    }

    /// XORs the keystream for `offset` into `buf` (random passes only).
    fn xor_keystream(&self, buf: &mut [u8], offset: u64) {
        if let Self::Random { cipher, key } = self {
            with_cipher(*cipher, key, offset, |c| c.apply_keystream(buf));
        }
    }

    /// Checks a block read back from `offset`, `sector` bytes at a time. Returns the indexes
    /// (within `buf`) of the sectors that differ from the pattern. `buf` is scrambled by the
    /// check (random content is compared by removing the keystream in place).
    pub fn mismatched_sectors(&self, buf: &mut [u8], offset: u64, sector: usize) -> Vec<usize> {
        let expected = match self {
            Self::Constant(byte) => *byte,
            Self::Random { .. } => {
                self.xor_keystream(buf, offset);
                0
            }
        };
        buf.chunks(sector)
            .enumerate()
            .filter(|(_, chunk)| !all_bytes_are(chunk, expected))
            .map(|(i, _)| i)
            .collect()
    }
}

/// Zeros the keystream is XOR-ed with when generating (64 KiB: fits in L2 beside the output).
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

/// Runs `f` with the pass cipher positioned at byte `offset`.
fn with_cipher(
    cipher: StreamCipherKind,
    key: &StreamKey,
    offset: u64,
    f: impl FnOnce(&mut dyn StreamCipherDyn),
) {
    match cipher {
        StreamCipherKind::Aes128Ctr => {
            let mut aes_key = [0u8; 16];
            aes_key.copy_from_slice(&key.0[..16]);
            let mut c = Aes128Ctr::new(&aes_key.into(), &[0u8; 16].into());
            c.seek(offset);
            f(&mut c);
        }
        StreamCipherKind::ChaCha20 => {
            let mut c = chacha20::ChaCha20Legacy::new(&key.0.into(), &[0u8; 8].into());
            c.seek(offset);
            f(&mut c);
        }
    }
}

/// The two keystream operations the patterns use, for either cipher.
trait StreamCipherDyn {
    fn apply_keystream(&mut self, buf: &mut [u8]);
    fn apply_keystream_b2b(&mut self, input: &[u8], output: &mut [u8]) -> Result<(), ()>;
}

impl<C: StreamCipher> StreamCipherDyn for C {
    fn apply_keystream(&mut self, buf: &mut [u8]) {
        StreamCipher::apply_keystream(self, buf);
    }
    fn apply_keystream_b2b(&mut self, input: &[u8], output: &mut [u8]) -> Result<(), ()> {
        StreamCipher::apply_keystream_b2b(self, input, output).map_err(|_| ())
    }
}

/// True when every byte of `data` equals `value`. Written without an early exit inside each
/// 4 KiB piece so the compiler vectorises it.
pub(crate) fn all_bytes_are(data: &[u8], value: u8) -> bool {
    data.chunks(4096)
        .all(|piece| piece.iter().fold(0u8, |acc, &b| acc | (b ^ value)) == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> StreamKey {
        StreamKey([seed; 32])
    }

    #[test]
    fn any_block_regenerates_identically() {
        for cipher in [StreamCipherKind::Aes128Ctr, StreamCipherKind::ChaCha20] {
            let p = PassContent::new(PassPattern::Random, cipher, &key(3));
            let mut whole = vec![0u8; 1 << 16];
            p.fill(&mut whole, 1 << 20);
            // The same bytes generated from an unaligned middle offset.
            let mut part = vec![0u8; 1000];
            p.fill(&mut part, (1 << 20) + 12_345);
            assert_eq!(&whole[12_345..13_345], &part[..], "{cipher:?}");
            assert!(!all_bytes_are(&whole, 0));
        }
    }

    #[test]
    fn different_keys_and_offsets_give_different_data() {
        let a = PassContent::new(PassPattern::Random, StreamCipherKind::Aes128Ctr, &key(1));
        let b = PassContent::new(PassPattern::Random, StreamCipherKind::Aes128Ctr, &key(2));
        let (mut x, mut y, mut z) = (vec![0u8; 4096], vec![0u8; 4096], vec![0u8; 4096]);
        a.fill(&mut x, 0);
        b.fill(&mut y, 0);
        a.fill(&mut z, 4096);
        assert_ne!(x, y);
        assert_ne!(x, z);
    }

    #[test]
    fn aes_stream_matches_a_known_answer() {
        // AES-128 of the all-zero counter block under the all-zero key is the FIPS-197 /
        // NIST known answer 66e94bd4ef8a2c3b884cfa59ca342b2e.
        let p = PassContent::new(
            PassPattern::Random,
            StreamCipherKind::Aes128Ctr,
            &StreamKey([0u8; 32]),
        );
        let mut block = [0u8; 16];
        p.fill(&mut block, 0);
        let hex: String = block.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "66e94bd4ef8a2c3b884cfa59ca342b2e");
    }

    #[test]
    fn the_check_names_the_sectors_that_differ() {
        for pattern in [PassPattern::Random, PassPattern::Zero, PassPattern::One] {
            let p = PassContent::new(pattern, StreamCipherKind::Aes128Ctr, &key(9));
            let mut buf = vec![0u8; 8 * 512];
            p.fill(&mut buf, 4096);
            let mut good = buf.clone();
            assert!(p.mismatched_sectors(&mut good, 4096, 512).is_empty());
            buf[3 * 512 + 7] ^= 0x01;
            buf[6 * 512] ^= 0x80;
            assert_eq!(p.mismatched_sectors(&mut buf, 4096, 512), vec![3, 6]);
        }
    }

    #[test]
    fn keys_round_trip_as_hex() {
        let k = StreamKey::from_os().unwrap();
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(json.len(), 66);
        let back: StreamKey = serde_json::from_str(&json).unwrap();
        assert_eq!(back, k);
        assert!(serde_json::from_str::<StreamKey>("\"zz\"").is_err());
        assert_eq!(format!("{k:?}"), "StreamKey(…)");
    }

    #[test]
    fn constant_check_finds_a_single_flipped_bit() {
        let mut data = vec![0xFFu8; 10_000];
        assert!(all_bytes_are(&data, 0xFF));
        data[9_999] = 0xFE;
        assert!(!all_bytes_are(&data, 0xFF));
    }
}
