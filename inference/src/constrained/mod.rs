//! Constrained decoding: a [`TokenConstraint`] says which tokens may come next, and
//! [`JsonSchemaConstraint`] forces the output to be JSON that matches a JSON Schema subset.
//!
//! The schema compiles to a [`schema::Grammar`]; a byte-level JSON machine ([`machine::State`])
//! walks it. The mask for a state comes from walking the vocabulary's byte trie
//! ([`trie::TokenTrie`]) from that state, dropping every subtree whose prefix the machine rejects;
//! masks are cached by state (with the length of long open strings forgotten). Constraints built
//! for the same schema and vocabulary (the last few schemas) share the compiled schema and the
//! mask cache, so repeated requests pay for each mask once.

pub mod machine;
mod mask;
pub mod schema;
pub mod trie;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use serde_json::Value;

use crate::tokenizer::TokenVocab;
use crate::InferenceError;
use machine::State;
pub use mask::TokenMask;
use schema::Grammar;
use trie::TokenTrie;

/// Most masks one schema keeps (each is vocab/8 bytes: 6 KiB for 49,152 tokens).
const MASK_CACHE_ENTRIES: usize = 512;
/// Compiled schemas (with their mask caches) kept for later requests with the same schema.
const SHARED_SCHEMAS: usize = 4;

/// Restricts which tokens may come next.
pub trait TokenConstraint: Send {
    /// Tokens allowed next; only eos once the output is complete.
    fn mask(&mut self) -> TokenMask;
    /// Records that `token` was generated; an error when the mask did not allow it.
    fn advance(&mut self, token: u32) -> Result<(), InferenceError>;
    /// The output is complete (nothing but eos may follow, or eos came).
    fn is_complete(&self) -> bool;
}

/// Forces output to be JSON matching a schema. Clones share the compiled schema and masks.
#[derive(Clone)]
pub struct JsonSchemaConstraint {
    shared: Arc<Shared>,
    state: State,
    finished: bool,
}

struct Shared {
    grammar: Grammar,
    vocab: Arc<TokenVocab>,
    trie: Arc<TokenTrie>,
    cache: Mutex<HashMap<State, TokenMask>>,
}

impl std::fmt::Debug for JsonSchemaConstraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonSchemaConstraint")
            .field("state", &self.state)
            .field("finished", &self.finished)
            .finish()
    }
}

impl JsonSchemaConstraint {
    /// Compiles `schema` for `vocab`; an [`InferenceError::InvalidRequest`] names what in the
    /// schema is not supported.
    pub fn new(schema: &Value, vocab: Arc<TokenVocab>) -> Result<Self, InferenceError> {
        type Registry = Mutex<Vec<(String, Weak<TokenVocab>, Arc<Shared>)>>;
        static RECENT: Registry = Mutex::new(Vec::new());
        let key = schema.to_string();
        let mut recent = RECENT.lock().unwrap_or_else(|e| e.into_inner());
        recent.retain(|(_, v, _)| v.strong_count() > 0);
        let found = recent
            .iter()
            .position(|(k, v, _)| *k == key && std::ptr::eq(v.as_ptr(), Arc::as_ptr(&vocab)));
        let shared = match found {
            Some(index) => {
                let entry = recent.remove(index);
                let shared = Arc::clone(&entry.2);
                recent.push(entry);
                shared
            }
            None => {
                let grammar = Grammar::compile(schema)?;
                let trie = TokenTrie::shared(&vocab);
                let shared = Arc::new(Shared {
                    grammar,
                    vocab: Arc::clone(&vocab),
                    trie,
                    cache: Mutex::new(HashMap::new()),
                });
                if recent.len() >= SHARED_SCHEMAS {
                    recent.remove(0);
                }
                recent.push((key, Arc::downgrade(&vocab), Arc::clone(&shared)));
                shared
            }
        };
        Ok(Self {
            shared,
            state: State::new(),
            finished: false,
        })
    }

    /// A fresh constraint (at the start of the document) sharing this one's schema and masks.
    pub fn restart(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            state: State::new(),
            finished: false,
        }
    }

    /// Feeds raw bytes (for tests and for forcing a prefix); false when they do not fit.
    pub fn advance_bytes(&mut self, bytes: &[u8]) -> bool {
        let mut state = self.state;
        let fits = bytes.iter().all(|&b| state.step(&self.shared.grammar, b));
        if fits {
            self.state = state;
        }
        fits
    }

    /// The mask for the current state, computed by walking the trie without the cache (what
    /// [`TokenConstraint::mask`] does on a cache miss); for measuring.
    pub fn mask_uncached(&self) -> TokenMask {
        self.compute_mask(&self.state)
    }

    fn compute_mask(&self, start: &State) -> TokenMask {
        let shared = &*self.shared;
        let trie = &*shared.trie;
        let mut mask = TokenMask::none(shared.vocab.len());
        if start.can_finish() {
            mask.allow(shared.vocab.eos());
        }
        if start.is_done() {
            return mask;
        }
        let mut states = vec![*start; usize::from(trie.max_depth) + 1];
        let nodes = &trie.nodes;
        let mut i = 0;
        while i < nodes.len() {
            let node = nodes[i];
            let depth = usize::from(node.depth);
            // The child's state is the parent's, stepped in place (one copy per node).
            let (parents, children) = states.split_at_mut(depth);
            let state = &mut children[0];
            *state = parents[depth - 1];
            if state.step(&shared.grammar, node.byte) {
                for &token in &trie.token_ids[node.tokens_start as usize..node.tokens_end as usize]
                {
                    mask.allow(token);
                }
                i += 1;
            } else {
                i = node.end as usize;
            }
        }
        mask
    }
}

impl TokenConstraint for JsonSchemaConstraint {
    fn mask(&mut self) -> TokenMask {
        let shared = &*self.shared;
        if self.finished {
            let mut mask = TokenMask::none(shared.vocab.len());
            mask.allow(shared.vocab.eos());
            return mask;
        }
        let key = self.state.cache_key(&shared.grammar, shared.trie.max_depth);
        if let Some(mask) = shared
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return mask.clone();
        }
        let mask = self.compute_mask(&self.state);
        let mut cache = shared.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MASK_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, mask.clone());
        mask
    }

    fn advance(&mut self, token: u32) -> Result<(), InferenceError> {
        let rejected = |why: &str| {
            Err(InferenceError::InvalidRequest(format!(
                "token {token} does not fit the JSON schema: {why}"
            )))
        };
        if self.finished {
            return rejected("the output is already complete");
        }
        let shared = Arc::clone(&self.shared);
        let vocab = &shared.vocab;
        if token == vocab.eos() {
            if self.state.can_finish() {
                self.finished = true;
                return Ok(());
            }
            return rejected("eos before the JSON value is complete");
        }
        if vocab.is_special(token) || vocab.bytes(token).is_empty() {
            return rejected("special token");
        }
        if !self.advance_bytes(vocab.bytes(token)) {
            return rejected("its text is not allowed here");
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.finished || self.state.is_done()
    }
}

#[cfg(test)]
mod tests;
