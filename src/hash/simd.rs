//! The SHA-1 compression (FIPS 180-4 §6.1.2) for wasm engines with 128-bit SIMD (`simd128`): the
//! message schedule is made four words at a time in vectors, the byte order swapped by one shuffle per
//! four words, and each round's constant added four words at a time; the rounds stay scalar. In V8
//! this is about 1.15× the `sha1` crate's unrolled scalar compression (used natively), measured by
//! `bench/compress.mjs`.

use core::arch::wasm32::{
    i32x4_add, i32x4_shuffle, i8x16_shuffle, u32x4_extract_lane, u32x4_shl, u32x4_shr, u32x4_splat, v128, v128_load,
    v128_or, v128_xor,
};

const K: [u32; 4] = [0x5A82_7999, 0x6ED9_EBA1, 0x8F1B_BCDC, 0xCA62_C1D6];

#[inline(always)]
fn choose(b: u32, c: u32, d: u32) -> u32 {
    d ^ (b & (c ^ d))
}

#[inline(always)]
fn parity(b: u32, c: u32, d: u32) -> u32 {
    b ^ c ^ d
}

#[inline(always)]
fn majority(b: u32, c: u32, d: u32) -> u32 {
    (b & c) | (d & (b | c))
}

#[inline(always)]
fn rotl1(v: v128) -> v128 {
    v128_or(u32x4_shl(v, 1), u32x4_shr(v, 31))
}

/// Words i..i+4 of the schedule from the 16 before them (`w0` holds i-16..i-12, `w3` i-4..i).
/// W[i+3] needs W[i] of the same four: it is made with 0 in W[i]'s place, then, the rotation
/// distributing over xor, corrected by W[i] rotated once more.
#[inline(always)]
fn schedule(w0: v128, w1: v128, w2: v128, w3: v128) -> v128 {
    let zero = u32x4_splat(0);
    let back3 = i32x4_shuffle::<1, 2, 3, 4>(w3, zero);
    let back14 = i32x4_shuffle::<2, 3, 4, 5>(w0, w1);
    let r = rotl1(v128_xor(v128_xor(back3, w2), v128_xor(back14, w0)));
    v128_xor(r, rotl1(i32x4_shuffle::<4, 4, 4, 0>(r, zero)))
}

/// One round: `e` takes the new word, `b` is rotated; the caller renames the five for the next.
macro_rules! round {
    ($f:ident, $kw:expr, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident) => {
        $e = $e.wrapping_add($a.rotate_left(5)).wrapping_add($f($b, $c, $d)).wrapping_add($kw);
        $b = $b.rotate_left(30);
    };
}

pub(super) fn compress(state: &mut [u32; 5], blocks: &[[u8; 64]]) {
    for block in blocks {
        compress_block(state, block);
    }
}

#[inline(always)]
fn compress_block(state: &mut [u32; 5], block: &[u8; 64]) {
    let word = |i: usize| {
        // SAFETY: bytes 16i..16i+16 lie within the 64-byte block (i < 4); v128.load has no alignment
        // requirement (core's v128_load reads unaligned).
        let v = unsafe { v128_load(block.as_ptr().add(16 * i).cast::<v128>()) };
        i8x16_shuffle::<3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12>(v, v)
    };
    let (mut w0, mut w1, mut w2, mut w3) = (word(0), word(1), word(2), word(3));
    let [mut a, mut b, mut c, mut d, mut e] = *state;
    // Four rounds on the words of `w` (the constant added to the four at once), then the five renamed
    // as a fifth round would have them.
    macro_rules! four {
        ($f:ident, $k:expr, $w:expr) => {
            let kw = i32x4_add($w, u32x4_splat($k));
            round!($f, u32x4_extract_lane::<0>(kw), a, b, c, d, e);
            round!($f, u32x4_extract_lane::<1>(kw), e, a, b, c, d);
            round!($f, u32x4_extract_lane::<2>(kw), d, e, a, b, c);
            round!($f, u32x4_extract_lane::<3>(kw), c, d, e, a, b);
            (a, b, c, d, e) = (b, c, d, e, a);
        };
    }
    macro_rules! next_four {
        ($f:ident, $k:expr) => {
            let n = schedule(w0, w1, w2, w3);
            (w0, w1, w2, w3) = (w1, w2, w3, n);
            four!($f, $k, n);
        };
    }
    four!(choose, K[0], w0);
    four!(choose, K[0], w1);
    four!(choose, K[0], w2);
    four!(choose, K[0], w3);
    next_four!(choose, K[0]);
    next_four!(parity, K[1]);
    next_four!(parity, K[1]);
    next_four!(parity, K[1]);
    next_four!(parity, K[1]);
    next_four!(parity, K[1]);
    next_four!(majority, K[2]);
    next_four!(majority, K[2]);
    next_four!(majority, K[2]);
    next_four!(majority, K[2]);
    next_four!(majority, K[2]);
    next_four!(parity, K[3]);
    next_four!(parity, K[3]);
    next_four!(parity, K[3]);
    next_four!(parity, K[3]);
    four!(parity, K[3], schedule(w0, w1, w2, w3)); // the last four: no window after them
    for (s, v) in state.iter_mut().zip([a, b, c, d, e]) {
        *s = s.wrapping_add(v);
    }
}
