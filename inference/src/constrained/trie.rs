//! The vocabulary as a flattened byte trie: nodes in depth-first order, each with the index just
//! past its subtree, so a walk can skip every token that shares a rejected prefix in one jump.

use std::sync::{Arc, Mutex, Weak};

use crate::tokenizer::TokenVocab;

/// One trie node: the byte on the edge into it.
#[derive(Debug, Clone, Copy)]
pub struct TrieNode {
    /// The byte this node adds to its parent's prefix.
    pub byte: u8,
    /// Length of the prefix this node spells (1 for children of the root).
    pub depth: u16,
    /// Index of the first node after this node's subtree.
    pub end: u32,
    /// Tokens spelled exactly by this prefix: `token_ids[tokens_start..tokens_end]`.
    pub tokens_start: u32,
    /// End of this node's tokens.
    pub tokens_end: u32,
}

/// The byte trie of every non-special, non-empty token.
#[derive(Debug)]
pub struct TokenTrie {
    /// Nodes in depth-first order (children sorted by byte).
    pub nodes: Vec<TrieNode>,
    /// Token ids, grouped by node.
    pub token_ids: Vec<u32>,
    /// Length in bytes of the longest token.
    pub max_depth: u16,
}

impl TokenTrie {
    /// Builds the trie of `vocab`.
    pub fn new(vocab: &TokenVocab) -> Self {
        let mut entries: Vec<(&[u8], u32)> = vocab
            .iter()
            .filter(|(id, bytes)| !bytes.is_empty() && !vocab.is_special(*id))
            .map(|(id, bytes)| (&bytes[..bytes.len().min(u16::MAX as usize)], id))
            .collect();
        entries.sort_unstable();
        let mut nodes: Vec<TrieNode> = Vec::with_capacity(entries.len() * 2);
        let mut token_ids = Vec::with_capacity(entries.len());
        let mut open: Vec<usize> = Vec::new();
        let mut prev: &[u8] = &[];
        for (index, &(bytes, id)) in entries.iter().enumerate() {
            let index = index as u32;
            let common = prev.iter().zip(bytes).take_while(|(a, b)| a == b).count();
            while open.len() > common {
                if let Some(node) = open.pop() {
                    nodes[node].end = nodes.len() as u32;
                }
            }
            token_ids.push(id);
            if common == bytes.len() {
                // Same bytes as the previous token: share its node.
                if let Some(&node) = open.last() {
                    nodes[node].tokens_end = index + 1;
                }
            } else {
                for (depth, &byte) in bytes.iter().enumerate().skip(common) {
                    let last = depth + 1 == bytes.len();
                    open.push(nodes.len());
                    nodes.push(TrieNode {
                        byte,
                        depth: (depth + 1) as u16,
                        end: 0,
                        tokens_start: index,
                        tokens_end: if last { index + 1 } else { index },
                    });
                }
            }
            prev = bytes;
        }
        for node in open {
            nodes[node].end = nodes.len() as u32;
        }
        let max_depth = entries.iter().map(|(b, _)| b.len()).max().unwrap_or(0) as u16;
        Self {
            nodes,
            token_ids,
            max_depth,
        }
    }

    /// The trie of `vocab`, built once per vocabulary and shared.
    pub fn shared(vocab: &Arc<TokenVocab>) -> Arc<Self> {
        static TRIES: Mutex<Vec<(Weak<TokenVocab>, Arc<TokenTrie>)>> = Mutex::new(Vec::new());
        let mut tries = TRIES.lock().unwrap_or_else(|e| e.into_inner());
        tries.retain(|(v, _)| v.strong_count() > 0);
        if let Some((_, trie)) = tries
            .iter()
            .find(|(v, _)| std::ptr::eq(v.as_ptr(), Arc::as_ptr(vocab)))
        {
            return Arc::clone(trie);
        }
        let trie = Arc::new(Self::new(vocab));
        tries.push((Arc::downgrade(vocab), Arc::clone(&trie)));
        trie
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_is_reachable_once() {
        let tokens: Vec<Vec<u8>> = ["a", "ab", "abc", "b", "ab", "", "<s>", "ba"]
            .iter()
            .map(|t| t.as_bytes().to_vec())
            .collect();
        let mut special = vec![false; tokens.len()];
        special[6] = true;
        let vocab = TokenVocab::new(tokens, special, 6).expect("vocab");
        let trie = TokenTrie::new(&vocab);
        // Nodes: a, ab, abc, b, ba.
        assert_eq!(trie.nodes.len(), 5);
        let spelled: Vec<(String, Vec<u32>)> = trie
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let mut prefix = vec![node.byte];
                let mut depth = node.depth;
                for parent in trie.nodes[..i].iter().rev() {
                    if parent.depth < depth {
                        prefix.insert(0, parent.byte);
                        depth = parent.depth;
                    }
                }
                let ids =
                    trie.token_ids[node.tokens_start as usize..node.tokens_end as usize].to_vec();
                (String::from_utf8(prefix).expect("ascii"), ids)
            })
            .collect();
        let expected = [
            ("a", vec![0]),
            ("ab", vec![1, 4]),
            ("abc", vec![2]),
            ("b", vec![3]),
            ("ba", vec![7]),
        ];
        for ((got, ids), (want, want_ids)) in spelled.iter().zip(expected) {
            assert_eq!((got.as_str(), ids), (want, &want_ids));
        }
        assert_eq!(trie.nodes[0].end, 3);
        assert_eq!(trie.nodes[3].end, 5);
        assert_eq!(trie.max_depth, 3);
    }
}
