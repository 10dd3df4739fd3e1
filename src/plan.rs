//! Part planning: which byte ranges of the file go in which UploadPartEx call.

/// The part sizes the protocol allows InitUploadEx to ask for.
pub const PART_SIZES: [u64; 2] = [524_288, 1_048_576];
pub const DEFAULT_PART_SIZE: u64 = 1_048_576;

/// One part: `len` bytes at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Part {
    pub offset: u64,
    pub len: u64,
}

impl Part {
    pub fn end(&self) -> u64 {
        self.offset + self.len
    }
}

/// Every part of a file of `file_size` bytes cut into `part_size` pieces: all full but the last.
pub fn parts(file_size: u64, part_size: u64) -> impl Iterator<Item = Part> {
    // A part size of 0 counts as 1 (the options are checked before: no panic path in the wasm).
    let part_size = part_size.max(1);
    let count = file_size.div_ceil(part_size);
    (0..count).map(move |i| {
        let offset = i * part_size;
        Part { offset, len: part_size.min(file_size - offset) }
    })
}

/// The parts still to send, given the parts the server says it holds (offset and size). A listed part
/// counts as held only if it is exactly the part the plan expects at that offset; anything else the server
/// lists is ignored, and that range is sent again.
pub fn missing_parts(file_size: u64, part_size: u64, held: &[(u64, u64)]) -> (Vec<Part>, u64) {
    let plan: Vec<Part> = parts(file_size, part_size).collect();
    let mut is_held = vec![false; plan.len()];
    for &(offset, len) in held {
        let index = (offset / part_size) as usize;
        if offset % part_size == 0 && plan.get(index).is_some_and(|p| p.len == len) {
            is_held[index] = true;
        }
    }
    let held_bytes = plan.iter().zip(&is_held).filter(|(_, &h)| h).map(|(p, _)| p.len).sum();
    let missing = plan.into_iter().zip(is_held).filter(|(_, h)| !h).map(|(p, _)| p).collect();
    (missing, held_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1_048_576;

    #[test]
    fn the_documents_example_six_million_bytes() {
        let p: Vec<Part> = parts(6_000_000, MIB).collect();
        assert_eq!(p.len(), 6);
        assert_eq!(p[4], Part { offset: 4_194_304, len: MIB });
        assert_eq!(p[5], Part { offset: 5_242_880, len: 757_120 });
    }

    #[test]
    fn exact_multiples_and_tiny_files() {
        assert_eq!(parts(2 * MIB, MIB).collect::<Vec<_>>().len(), 2);
        assert_eq!(parts(2 * MIB, MIB).last().unwrap().len, MIB);
        assert_eq!(parts(1, MIB).collect::<Vec<_>>(), vec![Part { offset: 0, len: 1 }]);
        assert_eq!(parts(0, MIB).count(), 0);
        assert_eq!(parts(MIB + 1, MIB).last().unwrap(), Part { offset: MIB, len: 1 });
    }

    #[test]
    fn files_around_and_past_four_gib_plan_without_overflow() {
        for size in [(4u64 << 30) - 1, 4u64 << 30, (4u64 << 30) + 1, (5u64 << 30) + 12_345] {
            for part_size in PART_SIZES {
                let all: Vec<Part> = parts(size, part_size).collect();
                assert_eq!(all.iter().map(|p| p.len).sum::<u64>(), size);
                assert!(all.windows(2).all(|w| w[0].end() == w[1].offset));
                let last = all.last().unwrap();
                assert_eq!(last.end(), size);
                assert!(last.len <= part_size && last.len > 0);
                assert!(all[..all.len() - 1].iter().all(|p| p.len == part_size && p.offset % part_size == 0));
            }
        }
    }

    #[test]
    fn missing_parts_skip_exactly_what_the_server_holds() {
        let size = 3 * MIB + 10;
        let held = [(0, MIB), (2 * MIB, MIB), (3 * MIB, 10)];
        let (missing, held_bytes) = missing_parts(size, MIB, &held);
        assert_eq!(missing, vec![Part { offset: MIB, len: MIB }]);
        assert_eq!(held_bytes, 2 * MIB + 10);
    }

    #[test]
    fn parts_listed_with_another_size_or_offset_are_sent_again() {
        let size = 2 * MIB;
        // A listing from a session cut into other sizes, and an offset that is not a part boundary.
        let held = [(0, 524_288), (MIB + 7, MIB)];
        let (missing, held_bytes) = missing_parts(size, MIB, &held);
        assert_eq!(missing.len(), 2);
        assert_eq!(held_bytes, 0);
    }
}
