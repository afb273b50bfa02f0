//! The Merkle tree over the audit log's entries, as RFC 9162 (Certificate
//! Transparency 2.0) defines it: SHA-256, leaves hashed with a 0x00
//! prefix, interior nodes with 0x01, the tree split at the largest power
//! of two. A leaf is an entry's hash (its 32 bytes), which covers every
//! field of the entry and the link to the one before.
//!
//! [`Frontier`] keeps only the roots of the perfect subtrees a log of `n`
//! leaves decomposes into (at most 64), so a new head extends the last one
//! from the new leaves alone: it never re-reads, and so never trusts, the
//! entries the last head already covers.

use sha2::{Digest, Sha256};

/// A node of the tree.
pub type Hash = [u8; 32];

/// The hash of a leaf: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::new().finalize().into()
}

/// The roots of the perfect subtrees of a tree of `size` leaves, largest
/// (leftmost) first: enough to extend it and to compute its root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of a tree of `size` leaves with these subtree roots;
    /// `None` if their number does not match the size.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Option<Self> {
        (nodes.len() == size.count_ones() as usize).then_some(Self { size, nodes })
    }

    /// Leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The subtree roots, largest first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Append a leaf (already hashed with [`leaf_hash`]).
    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        let mut size = self.size;
        // Like a binary counter: each trailing 1 bit merges two subtrees.
        while size & 1 == 1 {
            if let Some(left) = self.nodes.pop() {
                node = node_hash(&left, &node);
            }
            size >>= 1;
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// The tree's root (RFC 9162's MTH).
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(last) = nodes.next() else {
            return empty_root();
        };
        nodes.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    1usize << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The root of a tree over `leaves` (RFC 9162's MTH), from scratch.
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// The inclusion proof of leaf `index` in the tree over `leaves`
/// (RFC 9162's PATH), or `None` if the index is out of range.
pub fn inclusion_proof(index: usize, leaves: &[Hash]) -> Option<Vec<Hash>> {
    fn path(m: usize, d: &[Hash], out: &mut Vec<Hash>) {
        if d.len() <= 1 {
            return;
        }
        let k = split(d.len());
        if m < k {
            path(m, &d[..k], out);
            out.push(root_of(&d[k..]));
        } else {
            path(m - k, &d[k..], out);
            out.push(root_of(&d[..k]));
        }
    }
    (index < leaves.len()).then(|| {
        let mut out = Vec::new();
        path(index, leaves, &mut out);
        out
    })
}

/// Whether `proof` shows `leaf` at `index` in a tree of `size` leaves
/// whose root is `root` (RFC 9162, 2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// The consistency proof between the tree of the first `old` leaves and
/// the tree over all `leaves` (RFC 9162's PROOF), or `None` if `old` is 0
/// or larger than the tree.
pub fn consistency_proof(old: usize, leaves: &[Hash]) -> Option<Vec<Hash>> {
    fn sub(m: usize, d: &[Hash], whole: bool, out: &mut Vec<Hash>) {
        if m == d.len() {
            if !whole {
                out.push(root_of(d));
            }
            return;
        }
        let k = split(d.len());
        if m <= k {
            sub(m, &d[..k], whole, out);
            out.push(root_of(&d[k..]));
        } else {
            sub(m - k, &d[k..], false, out);
            out.push(root_of(&d[..k]));
        }
    }
    (old >= 1 && old <= leaves.len()).then(|| {
        let mut out = Vec::new();
        sub(old, leaves, true, &mut out);
        out
    })
}

/// Whether `proof` shows the tree of `old` leaves with root `old_root` is
/// a prefix of the tree of `new` leaves with root `new_root` (RFC 9162,
/// 2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old == 0 || old > new {
        return false;
    }
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    fr == *old_root && sr == *new_root && s == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9162's MTH, recursively, straight from its definition.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn the_frontier_root_is_the_tree_hash_of_every_size() {
        let mut f = Frontier::default();
        let mut leaves = Vec::new();
        assert_eq!(f.root(), mth(&leaves));
        for i in 0u32..300 {
            let leaf = leaf_hash(&i.to_le_bytes());
            leaves.push(leaf);
            f.push(leaf);
            assert_eq!(f.root(), mth(&leaves), "size {}", i + 1);
            assert_eq!(f.nodes().len(), f.size().count_ones() as usize);
        }
    }

    fn leaves(n: u32) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    #[test]
    fn every_inclusion_proof_verifies_and_a_wrong_one_does_not() {
        for n in 1..=40u32 {
            let d = leaves(n);
            let root = root_of(&d);
            for m in 0..n as usize {
                let proof = inclusion_proof(m, &d).unwrap_or_default();
                assert!(
                    verify_inclusion(m as u64, n as u64, &d[m], &proof, &root),
                    "{m} of {n}"
                );
                let other = leaf_hash(b"not in the log");
                assert!(!verify_inclusion(m as u64, n as u64, &other, &proof, &root));
                if n > 1 {
                    assert!(
                        !verify_inclusion(
                            ((m + 1) % n as usize) as u64,
                            n as u64,
                            &d[m],
                            &proof,
                            &root
                        ) || d[m] == d[(m + 1) % n as usize]
                    );
                }
            }
            assert!(inclusion_proof(n as usize, &d).is_none());
        }
    }

    #[test]
    fn every_consistency_proof_verifies_for_every_size_pair() {
        let d = leaves(40);
        for n in 1..=40usize {
            let new_root = root_of(&d[..n]);
            for m in 1..=n {
                let old_root = root_of(&d[..m]);
                let proof = consistency_proof(m, &d[..n]).unwrap_or_default();
                assert!(
                    verify_consistency(m as u64, n as u64, &old_root, &new_root, &proof),
                    "{m} -> {n}"
                );
                if m < n {
                    // A rewritten prefix is not consistent.
                    let mut forged = d[..n].to_vec();
                    forged[0] = leaf_hash(b"forged");
                    assert!(!verify_consistency(
                        m as u64,
                        n as u64,
                        &old_root,
                        &root_of(&forged),
                        &consistency_proof(m, &forged).unwrap_or_default()
                    ));
                }
            }
        }
    }

    #[test]
    fn the_known_answers_of_rfc_6962() {
        // The empty tree and a one-leaf tree of the empty string, as in
        // the certificate-transparency test vectors.
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }
}
