//! Messages and query values built by plain concatenation ([`cat`], [`int`]) instead of `format!`
//! / `to_string()` / `concat()`: on the wasm paths, those pulled in core::fmt's machinery (with the
//! panics made to trap, scripts/trap-panics.mjs, none of it is left: 1.6 KB of the gzipped wasm) or
//! the slices' generic join.

/// `parts` one after the other.
pub fn cat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// `n` in decimal, as `n.to_string()` writes it.
pub fn int(n: i64) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut out = String::with_capacity(21);
    if n < 0 {
        out.push('-');
    }
    out.extend(digits[at..].iter().map(|&d| d as char));
    out
}

#[cfg(test)]
mod tests {
    use super::int;

    #[test]
    fn int_writes_what_to_string_writes() {
        for n in [0, 7, -7, 10, 524_288, -10_002, 9_007_199_254_740_991, i64::MAX, i64::MIN] {
            assert_eq!(int(n), n.to_string());
        }
    }
}
