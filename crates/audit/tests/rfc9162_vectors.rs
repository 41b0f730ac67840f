//! The tree and its proofs against published test vectors, and the proofs it generates against an
//! independent implementation of RFC 9162's verification algorithms (§2.1.3.2, §2.1.4.2).
//!
//! The vectors are those of the transparency-dev Merkle library (Apache-2.0), the reference
//! implementation of RFC 6962/9162 trees used by Trillian and Tessera:
//! - leaves, node hashes and roots: github.com/transparency-dev/merkle, `testonly/constants.go`
//!   (commit 582a6ad190b6848f1d26f8bf08ddef29955d9db1);
//! - inclusion and consistency proofs: `proof/verify_test.go`
//!   (commit 02194e9afb6c1d95b5381350007963aa70fff472).
//!
//! They are data only: eight leaves of RFC 6962 §2.1 hashing, the roots of every prefix, and
//! proofs between them.

use std::collections::BTreeMap;

use kokuho_audit::tree::{self, Frontier, Hash};

fn h(text: &str) -> Hash {
    hex::decode(text).unwrap().try_into().unwrap()
}

const LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// Roots of the trees of 0..=8 leaves.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Complete subtree hashes by level.
const NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// (leaf, 1-based as in the source; tree size; audit path).
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (3, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        2,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, proof).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// The stored hashes of a tree built by appending `entries` one by one, as the writer does.
fn build(entries: &[Vec<u8>]) -> (BTreeMap<u64, Hash>, Vec<Hash>) {
    let mut frontier = Frontier::default();
    let mut stored = BTreeMap::new();
    let mut roots = vec![frontier.root()];
    for entry in entries {
        stored.extend(frontier.append(entry));
        roots.push(frontier.root());
    }
    (stored, roots)
}

fn vector_leaves() -> Vec<Vec<u8>> {
    LEAVES.iter().map(|leaf| hex::decode(leaf).unwrap()).collect()
}

#[test]
fn appending_the_vector_leaves_gives_every_published_root_and_node() {
    let (stored, roots) = build(&vector_leaves());
    for (size, root) in ROOTS.iter().enumerate() {
        assert_eq!(roots[size], h(root), "root of the tree of {size}");
        assert_eq!(tree::root(size as u64, &stored).unwrap(), h(root), "root of {size} from stored hashes");
    }
    for (level, nodes) in NODES.iter().enumerate() {
        for (n, node) in nodes.iter().enumerate() {
            assert_eq!(stored[&tree::stored_hash_index(level as u8, n as u64)], h(node), "node {level}/{n}");
        }
    }
    assert_eq!(stored.len() as u64, tree::stored_hash_count(8));
}

#[test]
fn generated_proofs_are_the_published_ones_and_verify() {
    let (stored, _) = build(&vector_leaves());
    for (leaf, size, path) in INCLUSION {
        let proof = tree::inclusion_proof(size, leaf - 1, &stored).unwrap();
        assert_eq!(proof, path.iter().map(|hash| h(hash)).collect::<Vec<_>>(), "inclusion of {leaf} in {size}");
        let leaf_hash = tree::leaf_hash(&hex::decode(LEAVES[leaf as usize - 1]).unwrap());
        assert_eq!(rfc9162::root_from_inclusion(leaf - 1, size, &leaf_hash, &proof), Some(h(ROOTS[size as usize])));
    }
    for (old, new, path) in CONSISTENCY {
        let proof = tree::consistency_proof(old, new, &stored).unwrap();
        assert_eq!(proof, path.iter().map(|hash| h(hash)).collect::<Vec<_>>(), "consistency {old} → {new}");
        assert!(rfc9162::verify_consistency(old, new, &h(ROOTS[old as usize]), &h(ROOTS[new as usize]), &proof));
    }
}

#[test]
fn every_proof_of_trees_up_to_70_verifies_with_an_independent_rfc_9162_verifier() {
    let entries: Vec<Vec<u8>> = (0u32..70).map(|i| i.to_be_bytes().to_vec()).collect();
    let (stored, roots) = build(&entries);
    for size in 1..=70u64 {
        for leaf in 0..size {
            let proof = tree::inclusion_proof(size, leaf, &stored).unwrap();
            let leaf_hash = tree::leaf_hash(&entries[leaf as usize]);
            assert_eq!(rfc9162::root_from_inclusion(leaf, size, &leaf_hash, &proof), Some(roots[size as usize]));
            // The wrong leaf does not verify.
            let other = tree::leaf_hash(b"not the entry");
            assert_ne!(rfc9162::root_from_inclusion(leaf, size, &other, &proof), Some(roots[size as usize]));
        }
        for old in 1..=size {
            let proof = tree::consistency_proof(old, size, &stored).unwrap();
            assert!(rfc9162::verify_consistency(old, size, &roots[old as usize], &roots[size as usize], &proof));
            if old < size {
                assert!(!rfc9162::verify_consistency(
                    old,
                    size,
                    &roots[old as usize - 1],
                    &roots[size as usize],
                    &proof
                ));
            }
        }
    }
}

/// RFC 9162 §2.1.3.2 and §2.1.4.2, written from the RFC's text: a second implementation, sharing
/// nothing with `tlog_tiles` but SHA-256.
mod rfc9162 {
    use sha2::{Digest, Sha256};

    type Hash = [u8; 32];

    fn node(left: &Hash, right: &Hash) -> Hash {
        let mut hasher = Sha256::new();
        hasher.update([1u8]);
        hasher.update(left);
        hasher.update(right);
        hasher.finalize().into()
    }

    /// §2.1.3.2: the root an inclusion proof leads to, or `None` if the proof is malformed.
    pub fn root_from_inclusion(leaf_index: u64, tree_size: u64, leaf_hash: &Hash, path: &[Hash]) -> Option<Hash> {
        if leaf_index >= tree_size {
            return None;
        }
        let (mut fn_, mut sn) = (leaf_index, tree_size - 1);
        let mut r = *leaf_hash;
        for p in path {
            if sn == 0 {
                return None;
            }
            if fn_ & 1 == 1 || fn_ == sn {
                r = node(p, &r);
                if fn_ & 1 == 0 {
                    while fn_ & 1 == 0 && fn_ != 0 {
                        fn_ >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                r = node(&r, p);
            }
            fn_ >>= 1;
            sn >>= 1;
        }
        (sn == 0).then_some(r)
    }

    /// §2.1.4.2.
    pub fn verify_consistency(first: u64, second: u64, first_hash: &Hash, second_hash: &Hash, path: &[Hash]) -> bool {
        if first == second {
            return path.is_empty() && first_hash == second_hash;
        }
        if first == 0 || first > second || path.is_empty() {
            return false;
        }
        let mut path = path.to_vec();
        if first.is_power_of_two() {
            path.insert(0, *first_hash);
        }
        let (mut fn_, mut sn) = (first - 1, second - 1);
        while fn_ & 1 == 1 {
            fn_ >>= 1;
            sn >>= 1;
        }
        let (mut fr, mut sr) = (path[0], path[0]);
        for c in &path[1..] {
            if sn == 0 {
                return false;
            }
            if fn_ & 1 == 1 || fn_ == sn {
                fr = node(c, &fr);
                sr = node(c, &sr);
                if fn_ & 1 == 0 {
                    while fn_ & 1 == 0 && fn_ != 0 {
                        fn_ >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                sr = node(&sr, c);
            }
            fn_ >>= 1;
            sn >>= 1;
        }
        fr == *first_hash && sr == *second_hash && sn == 0
    }
}
