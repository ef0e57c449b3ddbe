//! Hashing of composite keys without allocating: fields are written into one reused buffer,
//! each followed by the byte 0xFF, which never occurs in UTF-8 text (so `("ab", "c")` and
//! `("a", "bc")` differ), and hashed with XXH3, a fixed, documented algorithm, so ids stay the
//! same across restarts and versions.

use std::hash::{BuildHasherDefault, Hasher};

/// Ends every field: not a byte of any UTF-8 string.
const FIELD_END: u8 = 0xFF;

/// A reusable buffer that composite keys are written into before hashing.
#[derive(Debug, Default)]
pub(crate) struct KeyBuffer {
    bytes: Vec<u8>,
}

impl KeyBuffer {
    /// Empties the buffer for the next key, keeping its allocation.
    pub(crate) fn start(&mut self) -> &mut KeyBuffer {
        self.bytes.clear();
        self
    }

    /// Appends one field.
    pub(crate) fn field(&mut self, value: &str) -> &mut KeyBuffer {
        self.bytes.extend_from_slice(value.as_bytes());
        self.bytes.push(FIELD_END);
        self
    }

    /// 64-bit hash of the fields written since [`KeyBuffer::start`].
    pub(crate) fn hash64(&self) -> u64 {
        twox_hash::XxHash3_64::oneshot(&self.bytes)
    }

    /// 128-bit hash of the fields written since [`KeyBuffer::start`].
    pub(crate) fn hash128(&self) -> u128 {
        twox_hash::XxHash3_128::oneshot(&self.bytes)
    }
}

/// A `Hasher` for keys that already are uniformly distributed hashes: it keeps their low bits
/// instead of hashing them again.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached for key types other than u64/u128; fold them in so the map still works.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }

    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}

/// Builds [`PrehashedHasher`]s for hash maps keyed by hashes.
pub(crate) type Prehashed = BuildHasherDefault<PrehashedHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_boundaries_change_the_hash() {
        let mut buffer = KeyBuffer::default();
        let joined = buffer.start().field("ab").field("c").hash128();
        let split = buffer.start().field("a").field("bc").hash128();
        assert_ne!(joined, split);
        assert_eq!(buffer.start().field("ab").field("c").hash128(), joined);
    }

    #[test]
    fn hashes_are_fixed_across_builds() {
        // Series ids are shown to users and rebuilt after restarts: the algorithm must not drift.
        let mut buffer = KeyBuffer::default();
        buffer.start().field("kevents");
        assert_eq!(buffer.hash64(), 0x56b82e2ed1076a65);
        assert_eq!(buffer.hash128(), 0x6fe81d7e56ef157775b9fc64ce1e5dcb);
    }
}
