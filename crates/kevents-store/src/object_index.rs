//! The object index of a cold file: which blocks hold events about an object of a given name,
//! as (32-bit fingerprint of the name, block) pairs sorted by fingerprint. An
//! `involvedObject.name` query (`kubectl describe`, `kubectl events --for`) finds its blocks with
//! one binary search per file instead of asking every block's name filter: that sweep was a
//! cache miss per block (40,000 at 10,000,000 events) and the floor of every such query.
//!
//! ```text
//! footer section = n | n fingerprint deltas | n block numbers (each relative to the previous
//!                  pair's when the fingerprint repeats, else absolute)
//! ```
//!
//! A fingerprint collision only adds a block to read: every row read is checked by name.

use crate::columns::{ColumnReader, ColumnWriter, DecodeError};

/// The fingerprint a name is filed under: the upper half of its filter hash (stable across
/// builds, as stored files depend on it).
pub(crate) fn fingerprint(name: &str) -> u32 {
    (crate::bloom::hash(&[name.as_bytes()]) >> 32) as u32
}

/// A file's object index, held in memory while the file is open (8 bytes a pair).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ObjectIndex {
    /// Sorted by (fingerprint, block), without duplicates.
    pairs: Vec<(u32, u32)>,
}

impl ObjectIndex {
    /// Adds the distinct names of block `block` (blocks in ascending order).
    pub fn add_block<'a>(&mut self, block: usize, names: impl Iterator<Item = &'a str>) {
        let block = u32::try_from(block).unwrap_or(u32::MAX);
        self.pairs
            .extend(names.map(|name| (fingerprint(name), block)));
    }

    /// Orders the pairs once every block is added.
    pub fn finish(&mut self) {
        self.pairs.sort_unstable();
        self.pairs.dedup();
    }

    /// The blocks that may hold events about an object named `name`, ascending.
    pub fn blocks_of(&self, name: &str) -> impl Iterator<Item = usize> + '_ {
        let fingerprint = fingerprint(name);
        let first = self.pairs.partition_point(|(f, _)| *f < fingerprint);
        self.pairs[first..]
            .iter()
            .take_while(move |(f, _)| *f == fingerprint)
            .map(|(_, block)| *block as usize)
    }

    /// Appends the footer section.
    pub fn encode(&self, w: &mut ColumnWriter) {
        w.varint(self.pairs.len() as u64);
        let mut previous = 0u32;
        for (fingerprint, _) in &self.pairs {
            w.varint(u64::from(fingerprint - previous));
            previous = *fingerprint;
        }
        let mut previous = (u32::MAX, 0u32);
        for (fingerprint, block) in &self.pairs {
            let relative = match *fingerprint == previous.0 {
                true => block - previous.1,
                false => *block,
            };
            w.varint(u64::from(relative));
            previous = (*fingerprint, *block);
        }
    }

    /// Reads the footer section `encode` wrote; blocks beyond `blocks` are refused.
    pub fn decode(r: &mut ColumnReader<'_>, blocks: usize) -> Result<ObjectIndex, DecodeError> {
        let n = r.count()?;
        let narrow = |v: u64| u32::try_from(v).map_err(|_| DecodeError("object index overflow"));
        let mut fingerprints = Vec::with_capacity(n);
        let mut fingerprint = 0u32;
        for _ in 0..n {
            fingerprint = fingerprint
                .checked_add(narrow(r.varint()?)?)
                .ok_or(DecodeError("object index overflow"))?;
            fingerprints.push(fingerprint);
        }
        let mut pairs = Vec::with_capacity(n);
        let mut previous: Option<(u32, u32)> = None;
        for fingerprint in fingerprints {
            let relative = narrow(r.varint()?)?;
            let block = match previous {
                Some((f, b)) if f == fingerprint => b.checked_add(relative),
                _ => Some(relative),
            };
            let block = block.filter(|b| (*b as usize) < blocks).ok_or(DecodeError(
                "object index names a block the file does not have",
            ))?;
            pairs.push((fingerprint, block));
            previous = Some((fingerprint, block));
        }
        Ok(ObjectIndex { pairs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_index_finds_every_block_of_a_name_and_reads_back_what_it_wrote() {
        let mut index = ObjectIndex::default();
        let blocks: Vec<Vec<String>> = (0..300)
            .map(|b| {
                (0..40)
                    .map(|i| format!("app{}-{}", (b + i) % 97, i % 3))
                    .collect()
            })
            .collect();
        for (b, names) in blocks.iter().enumerate() {
            let distinct: std::collections::BTreeSet<&str> =
                names.iter().map(String::as_str).collect();
            index.add_block(b, distinct.into_iter());
        }
        index.finish();
        let mut w = ColumnWriter::default();
        index.encode(&mut w);
        let read = ObjectIndex::decode(&mut ColumnReader::new(&w.buf), blocks.len()).unwrap();
        assert_eq!(read, index);
        for name in ["app3-0", "app96-2", "app50-1"] {
            let expected: Vec<usize> = (0..blocks.len())
                .filter(|b| blocks[*b].iter().any(|n| n == name))
                .collect();
            assert!(!expected.is_empty());
            // Every block with the name, in order; others only on a fingerprint collision.
            let found: Vec<usize> = read.blocks_of(name).collect();
            assert!(found.windows(2).all(|w| w[0] < w[1]), "{found:?}");
            assert!(
                expected.iter().all(|b| found.contains(b)),
                "{name}: {found:?}"
            );
            assert!(found.len() <= expected.len() + 2, "{name}: {found:?}");
        }
        assert_eq!(read.blocks_of("nobody").count(), 0);
        // A block number past the file's end is refused.
        assert!(ObjectIndex::decode(&mut ColumnReader::new(&w.buf), 10).is_err());
    }
}
