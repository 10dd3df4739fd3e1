//! The SHA-1 compression (FIPS 180-4 §6.1.2) as four loops of 20 rounds over a 16-word window of the
//! schedule, for the plain wasm build: the engines that load it have no wasm SIMD (js/wasm.js loads the
//! SIMD build everywhere else), so it is the build few pages download, and the package's size budget
//! counts the larger of the two builds. The `sha1` crate's fully unrolled compression was 4.2 KB of
//! that build's code (its gzipped wasm 1.1 KB larger than with these loops), and about 2.3× as fast
//! (810 MB/s against 300–370 in Node 20 on this project's machine, where the SIMD build does ~880).

/// Compresses each 64-byte block into `state`.
pub fn compress(state: &mut [u32; 5], blocks: &[[u8; 64]]) {
    for block in blocks {
        let mut w = [0u32; 16];
        for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        let mut v = *state;
        rounds(&mut v, &mut w, 0, 0x5A82_7999, |b, c, d| d ^ (b & (c ^ d)));
        rounds(&mut v, &mut w, 20, 0x6ED9_EBA1, |b, c, d| b ^ c ^ d);
        rounds(&mut v, &mut w, 40, 0x8F1B_BCDC, |b, c, d| (b & c) | (d & (b | c)));
        rounds(&mut v, &mut w, 60, 0xCA62_C1D6, |b, c, d| b ^ c ^ d);
        for (s, v) in state.iter_mut().zip(v) {
            *s = s.wrapping_add(v);
        }
    }
}

/// Rounds `from..from + 20`, whose function of b, c, d is `f` and constant `k`, the schedule made as
/// they go (W[i] in `w[i % 16]`).
#[inline(always)]
fn rounds(v: &mut [u32; 5], w: &mut [u32; 16], from: usize, k: u32, f: impl Fn(u32, u32, u32) -> u32) {
    let [mut a, mut b, mut c, mut d, mut e] = *v;
    for i in from..from + 20 {
        if i >= 16 {
            w[i & 15] = (w[(i + 13) & 15] ^ w[(i + 8) & 15] ^ w[(i + 2) & 15] ^ w[i & 15]).rotate_left(1);
        }
        let t = a.rotate_left(5).wrapping_add(f(b, c, d)).wrapping_add(e).wrapping_add(k).wrapping_add(w[i & 15]);
        e = d;
        d = c;
        c = b.rotate_left(30);
        b = a;
        a = t;
    }
    *v = [a, b, c, d, e];
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_rolled_compression_is_the_sha1_crates() {
        use sha1::digest::{generic_array::GenericArray, typenum::U64};
        let mut blocks = [[0u8; 64]; 5];
        for (i, byte) in blocks.iter_mut().flatten().enumerate() {
            *byte = (i as u32).wrapping_mul(2_654_435_761).rotate_right(11) as u8;
        }
        let (mut ours, mut theirs) = ([1u32, 2, 3, 4, 5], [1u32, 2, 3, 4, 5]);
        super::compress(&mut ours, &blocks);
        let generic: Vec<GenericArray<u8, U64>> = blocks.iter().map(|b| GenericArray::clone_from_slice(b)).collect();
        sha1::compress(&mut theirs, &generic);
        assert_eq!(ours, theirs);
    }
}
