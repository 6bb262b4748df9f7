//! [`TokenMask`]: one bit per token, the set of tokens a constraint allows next.

/// One bit per token: which tokens may come next.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenMask {
    words: Vec<u64>,
    len: usize,
}

impl TokenMask {
    /// A mask over `len` tokens that allows none.
    pub fn none(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    /// A mask over `len` tokens that allows all.
    pub fn all(len: usize) -> Self {
        let mut mask = Self {
            words: vec![u64::MAX; len.div_ceil(64)],
            len,
        };
        if !len.is_multiple_of(64) {
            if let Some(last) = mask.words.last_mut() {
                *last = (1u64 << (len % 64)) - 1;
            }
        }
        mask
    }

    /// Number of tokens the mask covers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mask covers no tokens.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Allows `token` (ignored when out of range).
    pub fn allow(&mut self, token: u32) {
        let index = token as usize;
        if index < self.len {
            self.words[index / 64] |= 1 << (index % 64);
        }
    }

    /// Whether `token` may come next; tokens beyond the mask are not allowed.
    pub fn allows(&self, token: u32) -> bool {
        let index = token as usize;
        index < self.len && self.words[index / 64] & (1 << (index % 64)) != 0
    }

    /// How many tokens are allowed.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The allowed tokens, in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0u32..)
            .step_by(64)
            .zip(&self.words)
            .flat_map(|(base, &word)| {
                let mut bits = word;
                std::iter::from_fn(move || {
                    (bits != 0).then(|| {
                        let offset = bits.trailing_zeros();
                        bits &= bits - 1;
                        base + offset
                    })
                })
            })
    }

    /// Sets the logit of every token the mask does not allow to minus infinity.
    pub fn apply(&self, logits: &mut [f32]) {
        for (chunk, &word) in logits.chunks_mut(64).zip(&self.words) {
            if word == u64::MAX {
                continue;
            }
            for (bit, logit) in chunk.iter_mut().enumerate() {
                if word & (1 << bit) == 0 {
                    *logit = f32::NEG_INFINITY;
                }
            }
        }
        let covered = self.words.len() * 64;
        if logits.len() > covered {
            logits[covered..].fill(f32::NEG_INFINITY);
        }
    }
}
