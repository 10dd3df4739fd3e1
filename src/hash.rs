//! The two digests the protocol uses, streamed: SHA-1 of the whole file, MD5 of each part. Hex is made
//! here, lowercase, once.

use md5::Md5;
use sha1::{Digest, Sha1};

/// SHA-1 over any chunking of the file.
#[derive(Clone, Default)]
pub struct FileHasher(Sha1);

impl FileHasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Lowercase hex, as `fileSha` wants it.
    pub fn finish_hex(self) -> String {
        lower_hex(&self.0.finalize())
    }
}

pub fn sha1_hex(bytes: &[u8]) -> String {
    let mut h = FileHasher::new();
    h.update(bytes);
    h.finish_hex()
}

/// Lowercase hex MD5, as `dataMd5` wants it.
pub fn md5_hex(bytes: &[u8]) -> String {
    lower_hex(&Md5::digest(bytes))
}

/// Lowercase hex of a digest: one copy for both digests (the `hex` crate's generic encoder was
/// instantiated once per digest type, and is larger than these lines in the wasm).
#[inline(never)]
fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha1_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"The quick brown fox jumps over the lazy dog"), "9e107d9d372bb6826bd81d3542a419d6");
    }

    #[test]
    fn a_million_as() {
        let mut h = FileHasher::new();
        for _ in 0..1000 {
            h.update(&[b'a'; 1000]);
        }
        assert_eq!(h.finish_hex(), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    }

    #[test]
    fn any_chunking_gives_the_one_shot_digest() {
        let data: Vec<u8> = (0..10_007u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let whole = sha1_hex(&data);
        for chunk in [1, 3, 63, 64, 65, 1000, 4096, 10_007] {
            let mut h = FileHasher::new();
            data.chunks(chunk).for_each(|c| h.update(c));
            assert_eq!(h.finish_hex(), whole, "chunk size {chunk}");
        }
    }
}
