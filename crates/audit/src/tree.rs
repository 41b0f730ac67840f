//! The RFC 9162 §2.1 Merkle tree over a tenant's ledger, stored as the hashes of its complete
//! subtrees in the "stored hash index" order of Crosby and Wallach (§3.3), as Go's sumdb `tlog`
//! and the [`tlog_tiles`] crate lay them out: record `n`'s leaf hash is written at
//! `stored_hash_index(0, n)`, followed by the hash of every subtree it completes. Each record
//! adds just under two hashes on average; a proof or a root reads at most about 2·log₂ n of
//! them, in one query.
//!
//! Leaf `n` (0-based) is the event at position `n + 1`; its entry is the event's chain hash.

use std::cell::RefCell;
use std::collections::BTreeMap;

use tlog_tiles::HashReader;

/// A SHA-256 hash of the tree.
pub type Hash = [u8; 32];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// A stored hash the tree needs is not there (the tree is behind the ledger, or rows were
    /// removed).
    #[error("the Merkle tree lacks a stored hash it needs (index {0})")]
    Missing(u64),
    #[error("{0}")]
    Invalid(String),
}

/// RFC 9162 §2.1.1: the hash of a leaf whose entry is `entry`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    tlog_tiles::record_hash(entry).0
}

/// RFC 9162 §2.1.1: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    tlog_tiles::node_hash(tlog_tiles::Hash(*left), tlog_tiles::Hash(*right)).0
}

/// Where level `level`'s `n`-th complete subtree hash is stored.
pub fn stored_hash_index(level: u8, n: u64) -> u64 {
    tlog_tiles::stored_hash_index(level, n)
}

/// How many hashes a tree of `n` records stores.
pub fn stored_hash_count(n: u64) -> u64 {
    tlog_tiles::stored_hash_count(n)
}

/// The size of the tree whose stored hashes number `count` (the inverse of
/// [`stored_hash_count`]); `None` if no tree stores exactly that many (a torn write).
pub fn size_from_stored_count(count: u64) -> Option<u64> {
    // stored_hash_count is increasing and below 2n + 1; search for the n that gives `count`.
    let (mut low, mut high) = (0u64, count);
    while low < high {
        let middle = low + (high - low) / 2;
        if stored_hash_count(middle) < count {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    (stored_hash_count(low) == count).then_some(low)
}

/// Reads from a map of stored hashes, refusing one that is missing.
struct MapReader<'a>(&'a BTreeMap<u64, Hash>);

impl HashReader for MapReader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|index| {
                self.0.get(index).map(|hash| tlog_tiles::Hash(*hash)).ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// Records which indexes a computation reads (answering zeros): the first of the two passes of
/// a proof over stored hashes, so that the store fetches them all in one query.
#[derive(Default)]
struct Recorder(RefCell<Vec<u64>>);

impl HashReader for Recorder {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        self.0.borrow_mut().extend_from_slice(indexes);
        Ok(vec![tlog_tiles::Hash([0; 32]); indexes.len()])
    }
}

fn missing(indexes: &[u64], hashes: &BTreeMap<u64, Hash>) -> TreeError {
    TreeError::Missing(indexes.iter().copied().find(|index| !hashes.contains_key(index)).unwrap_or_default())
}

fn recorded(run: impl FnOnce(&Recorder) -> Result<(), tlog_tiles::Error>) -> Result<Vec<u64>, TreeError> {
    let recorder = Recorder::default();
    run(&recorder).map_err(|error| TreeError::Invalid(error.to_string()))?;
    Ok(recorder.0.into_inner())
}

/// The stored hashes the root of the tree of `size` records is computed from.
pub fn root_indexes(size: u64) -> Vec<u64> {
    if size == 0 {
        return Vec::new();
    }
    tlog_tiles::sub_tree_index(0, size, Vec::new())
}

/// The root of the tree of `size` records (RFC 9162 MTH; the hash of the empty string for 0).
pub fn root(size: u64, hashes: &BTreeMap<u64, Hash>) -> Result<Hash, TreeError> {
    tlog_tiles::tree_hash(size, &MapReader(hashes)).map(|hash| hash.0).map_err(|_| missing(&root_indexes(size), hashes))
}

/// The stored hashes the inclusion proof of leaf `leaf` in the tree of `size` reads.
pub fn inclusion_indexes(size: u64, leaf: u64) -> Result<Vec<u64>, TreeError> {
    if leaf >= size {
        return Err(TreeError::Invalid(format!("leaf {leaf} is not in a tree of {size}")));
    }
    recorded(|recorder| tlog_tiles::prove_record(size, leaf, recorder).map(drop))
}

/// RFC 9162 §2.1.3.1: the inclusion proof (audit path) of leaf `leaf` in the tree of `size`.
pub fn inclusion_proof(size: u64, leaf: u64, hashes: &BTreeMap<u64, Hash>) -> Result<Vec<Hash>, TreeError> {
    let indexes = inclusion_indexes(size, leaf)?;
    tlog_tiles::prove_record(size, leaf, &MapReader(hashes))
        .map(|path| path.into_iter().map(|hash| hash.0).collect())
        .map_err(|_| missing(&indexes, hashes))
}

/// The stored hashes the consistency proof from `old_size` to `new_size` reads.
pub fn consistency_indexes(old_size: u64, new_size: u64) -> Result<Vec<u64>, TreeError> {
    if old_size == 0 || old_size >= new_size {
        return Ok(Vec::new());
    }
    recorded(|recorder| tlog_tiles::prove_tree(new_size, old_size, recorder).map(drop))
}

/// RFC 9162 §2.1.4.1: the consistency proof that the tree of `new_size` extends the tree of
/// `old_size` (empty when the old tree is empty or the same size).
pub fn consistency_proof(old_size: u64, new_size: u64, hashes: &BTreeMap<u64, Hash>) -> Result<Vec<Hash>, TreeError> {
    if old_size > new_size {
        return Err(TreeError::Invalid(format!("a tree of {old_size} cannot be a prefix of one of {new_size}")));
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    let indexes = consistency_indexes(old_size, new_size)?;
    tlog_tiles::prove_tree(new_size, old_size, &MapReader(hashes))
        .map(|path| path.into_iter().map(|hash| hash.0).collect())
        .map_err(|_| missing(&indexes, hashes))
}

/// The right edge of a tree: the hashes of the complete subtrees its root is made of (at most
/// one per level). That is all a writer needs to append: each new record's stored hashes follow
/// from its entry and these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: BTreeMap<u64, Hash>,
}

impl Frontier {
    /// The edge of a tree of `size` records from its stored hashes (those of
    /// [`root_indexes`]`(size)`; others are ignored).
    pub fn from_stored(size: u64, stored: &BTreeMap<u64, Hash>) -> Result<Frontier, TreeError> {
        let mut nodes = BTreeMap::new();
        for index in root_indexes(size) {
            nodes.insert(index, *stored.get(&index).ok_or(TreeError::Missing(index))?);
        }
        Ok(Frontier { size, nodes })
    }

    /// Records in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree's root hash.
    pub fn root(&self) -> Hash {
        root(self.size, &self.nodes).expect("a frontier holds every hash of its root")
    }

    /// Appends the record whose entry is `entry` (an event's chain hash) and answers the hashes to
    /// store, each with its stored index.
    pub fn append(&mut self, entry: &[u8]) -> Vec<(u64, Hash)> {
        let n = self.size;
        let hashes =
            tlog_tiles::stored_hashes_for_record_hash(n, tlog_tiles::record_hash(entry), &MapReader(&self.nodes))
                .expect("a frontier holds every hash the next record completes");
        let first = stored_hash_index(0, n);
        let stored: Vec<(u64, Hash)> = hashes.iter().zip(first..).map(|(hash, index)| (index, hash.0)).collect();
        self.nodes.extend(stored.iter().copied());
        self.size += 1;
        let keep = root_indexes(self.size);
        self.nodes.retain(|index, _| keep.contains(index));
        stored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_count_gives_the_size_back() {
        for n in 0..2000 {
            assert_eq!(size_from_stored_count(stored_hash_count(n)), Some(n));
        }
        // Half of record 3's hashes (a torn write) is no tree.
        assert_eq!(size_from_stored_count(stored_hash_count(3) + 1), None);
    }
}
