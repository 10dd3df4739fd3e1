//! The two digests the protocol uses, streamed: SHA-1 of the whole file, MD5 of each part. Hex is made
//! here, lowercase, once.
//!
//! The SHA-1's blocks are compressed by the `sha1` crate's function (with the CPU's SHA instructions
//! where it has them) natively; in wasm, by one of this crate's: the build for engines with 128-bit
//! SIMD has its own (`simd`: the file's hash pass is bound by the compression, and that one is faster
//! there), the plain build a small rolled loop (`rolled`: that build is for the few engines without
//! SIMD, and the size budget counts the larger build). The buffering and padding around it (FIPS 180-4
//! §5.1.1) are here, one copy for all.

use md5::{Digest, Md5};

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use simd::compress;

#[cfg(any(test, all(target_arch = "wasm32", not(target_feature = "simd128"))))]
mod rolled;
#[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
use rolled::compress;

/// The `sha1` crate's compression, on blocks as arrays.
#[cfg(not(target_arch = "wasm32"))]
fn compress(state: &mut [u32; 5], blocks: &[[u8; 64]]) {
    use sha1::digest::{generic_array::GenericArray, typenum::U64};
    // SAFETY: GenericArray<u8, U64> is #[repr(transparent)] over an array of 64 bytes: the same layout as
    // [u8; 64] (the crate's own compress casts its blocks back to [u8; 64] the same way).
    let blocks = unsafe { &*(blocks as *const [[u8; 64]] as *const [GenericArray<u8, U64>]) };
    sha1::compress(state, blocks);
}

const SHA1_INIT: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];

/// SHA-1 over any chunking of the file.
#[derive(Clone)]
pub struct FileHasher {
    state: [u32; 5],
    /// The start of a block not yet complete: `pending[..filled]`.
    pending: [u8; 64],
    filled: usize,
    /// Bytes hashed in all.
    total: u64,
}

impl Default for FileHasher {
    fn default() -> Self {
        Self { state: SHA1_INIT, pending: [0; 64], filled: 0, total: 0 }
    }
}

impl FileHasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        if self.filled > 0 {
            let take = bytes.len().min(64 - self.filled);
            self.pending[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
            self.filled += take;
            bytes = &bytes[take..];
            if self.filled < 64 {
                return;
            }
            compress(&mut self.state, &[self.pending]);
            self.filled = 0;
        }
        // Whole blocks straight from the caller's bytes.
        let (blocks, rest) = bytes.as_chunks::<64>();
        compress(&mut self.state, blocks);
        self.pending[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    /// Lowercase hex, as `fileSha` wants it.
    pub fn finish_hex(mut self) -> String {
        let bits = self.total.wrapping_mul(8);
        // 0x80, zeros up to 8 bytes short of a block's end, then the length in bits, big-endian.
        let mut tail = [0u8; 128];
        let pad = if self.filled < 56 { 64 } else { 128 };
        tail[..self.filled].copy_from_slice(&self.pending[..self.filled]);
        tail[self.filled] = 0x80;
        tail[pad - 8..pad].copy_from_slice(&bits.to_be_bytes());
        compress(&mut self.state, tail[..pad].as_chunks::<64>().0);
        let mut digest = [0u8; 20];
        for (out, word) in digest.chunks_exact_mut(4).zip(self.state) {
            out.copy_from_slice(&word.to_be_bytes());
        }
        lower_hex(&digest)
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
    fn every_padding_length() {
        // Lengths around one and two blocks' padding boundaries (55, 56, 63, 64, 119, 120 ...),
        // against the `sha1` crate's own streaming hasher.
        use sha1::{Digest as _, Sha1};
        let data: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in 0..=data.len() {
            assert_eq!(sha1_hex(&data[..len]), lower_hex(&Sha1::digest(&data[..len])), "length {len}");
        }
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
