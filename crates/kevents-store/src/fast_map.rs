//! The hash maps of the write and seal paths.

/// A hash map with a fast, per-process seeded hasher, for the maps of the write and seal paths
/// (keys and strings from events; SipHash's DoS resistance is not needed inside the store).
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// The set of [`FastMap`].
pub(crate) type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
