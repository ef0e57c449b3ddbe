//! A Bloom filter with a hash that is stable across builds (it is stored in sealed files): FNV-1a
//! over the bytes, split into two 32-bit halves and combined (Kirsch–Mitzenmacher) into `k` bit
//! positions.

/// For filters whose false positives are expensive (a block decode on every create): about
/// 0.1% with 7 probes.
pub(crate) const BITS_PER_KEY: usize = 16;
/// For the object names of a block, asked by every `involvedObject.name` query of every
/// block: about 0.007% with 7 probes.
pub(crate) const BITS_PER_OBJECT: usize = 24;
const PROBES: u32 = 7;

/// A fixed-size Bloom filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bloom {
    bits: Vec<u64>,
}

impl Bloom {
    /// An empty filter of `bits_per_item` bits for each of `items`.
    pub fn with_bits(items: usize, bits_per_item: usize) -> Bloom {
        let words = (items.max(1) * bits_per_item).div_ceil(64);
        Bloom {
            bits: vec![0; words],
        }
    }

    /// A filter from its stored words; `None` when there are none.
    pub fn from_words(bits: Vec<u64>) -> Option<Bloom> {
        (!bits.is_empty()).then_some(Bloom { bits })
    }

    /// The stored words.
    pub fn words(&self) -> &[u64] {
        &self.bits
    }

    /// Adds the item made of `parts`.
    pub fn insert(&mut self, parts: &[&[u8]]) {
        self.insert_hash(hash(parts));
    }

    /// Adds an item by its [`hash`].
    pub fn insert_hash(&mut self, hash: u64) {
        let len = self.bits.len() as u64 * 64;
        for bit in positions(hash, len) {
            self.bits[(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }

    /// False when the item made of `parts` was certainly never inserted.
    #[cfg(test)]
    pub fn may_contain(&self, parts: &[&[u8]]) -> bool {
        self.may_contain_hash(hash(parts))
    }

    /// Like `may_contain`, for an item by its [`hash`] (one hash for many filters).
    pub fn may_contain_hash(&self, hash: u64) -> bool {
        words_may_contain(&self.bits, hash)
    }
}

/// Whether the filter stored as `words` (not empty) may hold the item of `hash`.
fn words_may_contain(words: &[u64], hash: u64) -> bool {
    let len = words.len() as u64 * 64;
    positions(hash, len).all(|bit| words[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
}

/// The object-name filters of a file's blocks, end to end in one allocation. An
/// `involvedObject.name` query asks every block's filter in block order: one sequential sweep
/// over this instead of a separate allocation (and cache misses) per block, which was a
/// quarter of the time of such queries at 10,000,000 events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BlockFilters {
    words: Vec<u64>,
    /// Per block: where its filter ends in `words` (it starts where the previous one ends;
    /// an empty filter is a block written without one).
    ends: Vec<usize>,
}

impl BlockFilters {
    /// Adds the next block's filter (empty: none).
    pub fn push(&mut self, words: &[u64]) {
        self.words.extend_from_slice(words);
        self.ends.push(self.words.len());
    }

    /// The stored words of block `block`'s filter (empty when it has none).
    pub fn words(&self, block: usize) -> &[u64] {
        let Some(end) = self.ends.get(block) else {
            return &[];
        };
        let start = block.checked_sub(1).map_or(0, |b| self.ends[b]);
        &self.words[start..*end]
    }

    /// The first block from `from` up to (not including) `until` that may hold an item of
    /// `hash` (or has no filter); `until` when none does. One tight loop, so the processor
    /// overlaps the memory reads of many blocks' filters (each is a cache miss at 40,000 blocks
    /// a file).
    pub fn next_candidate(&self, from: usize, until: usize, hash: u64) -> usize {
        let until = until.min(self.ends.len());
        let mut start = match from.checked_sub(1) {
            Some(previous) => self.ends.get(previous).copied().unwrap_or(0),
            None => 0,
        };
        for (block, end) in self.ends.iter().enumerate().take(until).skip(from) {
            let words = &self.words[start..*end];
            if words.is_empty() || words_may_contain(words, hash) {
                return block;
            }
            start = *end;
        }
        until.max(from)
    }

    /// False when block `block` certainly holds no item of `hash`; true when it may, or has no
    /// filter.
    pub fn may_contain_hash(&self, block: usize, hash: u64) -> bool {
        let words = self.words(block);
        words.is_empty() || words_may_contain(words, hash)
    }
}

/// The hash an item made of `parts` is filed under.
pub(crate) fn hash(parts: &[&[u8]]) -> u64 {
    fnv1a(parts)
}

fn positions(hash: u64, len: u64) -> impl Iterator<Item = u64> {
    let (h1, h2) = (hash & 0xffff_ffff, (hash >> 32) | 1);
    (0..u64::from(PROBES)).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % len)
}

/// FNV-1a, 64-bit, with a separator between parts so ("ab","c") and ("a","bc") differ, then a
/// final avalanche so both halves are well mixed.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(&[0xff]) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserted_items_are_always_found_and_others_mostly_not() {
        let mut bloom = Bloom::with_bits(10_000, 10);
        for i in 0..10_000 {
            bloom.insert(&[b"ns", format!("pod-{i}.17a").as_bytes()]);
        }
        for i in 0..10_000 {
            assert!(bloom.may_contain(&[b"ns", format!("pod-{i}.17a").as_bytes()]));
        }
        let false_positives = (0..10_000)
            .filter(|i| bloom.may_contain(&[b"ns", format!("other-{i}.17a").as_bytes()]))
            .count();
        assert!(false_positives < 300, "{false_positives} false positives");
        assert!(!bloom.may_contain(&[b"n", b"spod-0.17a"]) || bloom.may_contain(&[b"n"]));
    }

    #[test]
    fn key_filters_have_few_false_positives() {
        let mut bloom = Bloom::with_bits(20_000, BITS_PER_KEY);
        for i in 0..20_000 {
            bloom.insert(&[b"", b"ns", format!("pod-{i}.17a").as_bytes()]);
        }
        let false_positives = (0..20_000)
            .filter(|i| bloom.may_contain(&[b"", b"ns", format!("new-{i}.17a").as_bytes()]))
            .count();
        assert!(false_positives < 60, "{false_positives} of 20,000");
    }

    #[test]
    fn object_filters_rarely_match_a_name_they_do_not_hold() {
        // A block of 512 events about 400 distinct pods, asked for 200,000 other names.
        let mut bloom = Bloom::with_bits(400, BITS_PER_OBJECT);
        for i in 0..400 {
            bloom.insert(&[format!("app{}-7d9f8b6c5-{i:05x}", i % 200).as_bytes()]);
        }
        let false_positives = (0..200_000)
            .filter(|i| bloom.may_contain(&[format!("node-{i}").as_bytes()]))
            .count();
        assert!(false_positives < 40, "{false_positives} of 200,000");
    }

    #[test]
    fn block_filters_answer_as_their_blooms() {
        let mut filters = BlockFilters::default();
        let mut blooms = Vec::new();
        for block in 0..5usize {
            // Block 2 was written without a filter: it may hold anything.
            let words = match block {
                2 => Vec::new(),
                _ => {
                    let mut bloom = Bloom::with_bits(3 + block, BITS_PER_OBJECT);
                    for i in 0..3 + block {
                        bloom.insert(&[format!("pod-{block}-{i}").as_bytes()]);
                    }
                    bloom.words().to_vec()
                }
            };
            filters.push(&words);
            blooms.push(Bloom::from_words(words));
        }
        for (block, bloom) in blooms.iter().enumerate() {
            assert_eq!(
                filters.words(block),
                bloom.as_ref().map_or(&[][..], |b| b.words())
            );
            for name in ["pod-0-1", "pod-3-5", "pod-4-6", "other"] {
                let hash = hash(&[name.as_bytes()]);
                let expected = bloom.as_ref().is_none_or(|b| b.may_contain_hash(hash));
                assert_eq!(
                    filters.may_contain_hash(block, hash),
                    expected,
                    "{block} {name}"
                );
            }
        }
        assert!(filters.may_contain_hash(2, hash(&[b"anything"])));
        // The next candidate is the next block whose filter may hold the name.
        let name = hash(&[b"pod-3-1"]);
        let expected = (1..5)
            .find(|b| filters.may_contain_hash(*b, name))
            .unwrap_or(5);
        assert_eq!(filters.next_candidate(1, 5, name), expected);
        assert_eq!(filters.next_candidate(3, 5, name), 3);
        assert_eq!(filters.next_candidate(1, 2, name), expected.min(2));
        assert!(filters.next_candidate(4, 5, name) >= 4);
        assert_eq!(filters.next_candidate(9, 5, name), 9);
        // A file written without filters has none for any block.
        assert!(BlockFilters::default().may_contain_hash(7, hash(&[b"anything"])));
        assert!(
            !filters.may_contain_hash(0, hash(&[b"pod-1-0"]))
                || filters.may_contain_hash(1, hash(&[b"pod-1-0"]))
        );
    }

    #[test]
    fn the_hash_is_stable_across_builds() {
        // Stored filters must stay valid: this value may never change.
        assert_eq!(fnv1a(&[b"default", b"web-0.17a5"]), 0xdd89_c7bd_a287_f852);
    }
}
