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
        let len = self.bits.len() as u64 * 64;
        positions(hash, len).all(|bit| self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
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
    fn the_hash_is_stable_across_builds() {
        // Stored filters must stay valid: this value may never change.
        assert_eq!(fnv1a(&[b"default", b"web-0.17a5"]), 0xdd89_c7bd_a287_f852);
    }
}
