//! Choosing the next token: greedy or seeded random sampling with temperature, top-k, top-p and
//! a repetition penalty, under an optional [`TokenMask`]; plus [`StopMatcher`] for stop strings.

pub use crate::constrained::TokenMask;
use crate::InferenceError;

/// How a request's tokens are chosen and when generation stops.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    /// Softmax temperature; 0 means greedy (argmax).
    pub temperature: f32,
    /// Keep only the `k` most likely tokens.
    pub top_k: Option<usize>,
    /// Keep the smallest set of most likely tokens whose probability reaches `p`.
    pub top_p: Option<f32>,
    /// Divides positive (multiplies negative) logits of tokens already in the history; 1 = off.
    pub repetition_penalty: f32,
    /// Seed of the random draws: the same seed and logits give the same tokens.
    pub seed: u64,
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// Tokens that end generation (the model's eos is always one, added by the engine).
    pub stop_tokens: Vec<u32>,
    /// Texts that end generation; matched on decoded text by the engine with [`StopMatcher`].
    pub stop_strings: Vec<String>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_k: None,
            top_p: None,
            repetition_penalty: 1.0,
            seed: 0,
            max_tokens: 256,
            stop_tokens: Vec::new(),
            stop_strings: Vec::new(),
        }
    }
}

impl SamplingParams {
    /// Checks that every parameter is in range.
    pub fn validate(&self) -> Result<(), InferenceError> {
        let invalid = |what: String| Err(InferenceError::InvalidRequest(what));
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return invalid(format!("temperature {} is not >= 0", self.temperature));
        }
        if self.top_k == Some(0) {
            return invalid("top_k must be at least 1".into());
        }
        if let Some(p) = self.top_p {
            if !(p > 0.0 && p <= 1.0) {
                return invalid(format!("top_p {p} is not in (0, 1]"));
            }
        }
        if !self.repetition_penalty.is_finite() || self.repetition_penalty <= 0.0 {
            return invalid(format!(
                "repetition_penalty {} is not > 0",
                self.repetition_penalty
            ));
        }
        if self.max_tokens == 0 {
            return invalid("max_tokens must be at least 1".into());
        }
        if self.stop_strings.iter().any(String::is_empty) {
            return invalid("stop strings must not be empty".into());
        }
        Ok(())
    }

    /// Whether `token` is one of the stop tokens.
    pub fn is_stop_token(&self, token: u32) -> bool {
        self.stop_tokens.contains(&token)
    }
}

/// xoshiro256** seeded through splitmix64: small, fast and reproducible across platforms.
#[derive(Debug, Clone)]
struct Rng {
    state: [u64; 4],
}

impl Rng {
    fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Self {
            state: [next(), next(), next(), next()],
        }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Chooses tokens for one sequence; holds its random state and scratch buffers.
#[derive(Debug, Clone)]
pub struct Sampler {
    temperature: f32,
    top_k: Option<usize>,
    top_p: Option<f32>,
    repetition_penalty: f32,
    rng: Rng,
    candidates: Vec<(u32, f32)>,
    seen: Vec<u32>,
}

impl Sampler {
    /// A sampler for `params` (validate them first).
    pub fn new(params: &SamplingParams) -> Self {
        Self {
            temperature: params.temperature,
            top_k: params.top_k,
            top_p: params.top_p.filter(|p| *p < 1.0),
            repetition_penalty: params.repetition_penalty,
            rng: Rng::new(params.seed),
            candidates: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// Picks the next token from `logits` (modified in place), penalising tokens in `history`
    /// and never choosing a token `allowed` rules out. When nothing is allowed, returns the
    /// mask's first allowed token, or 0 without a mask.
    pub fn sample(
        &mut self,
        logits: &mut [f32],
        history: &[u32],
        allowed: Option<&TokenMask>,
    ) -> u32 {
        if let Some(mask) = allowed {
            mask.apply(logits);
        }
        if self.repetition_penalty != 1.0 {
            self.penalise(logits, history);
        }
        let fallback = || allowed.and_then(|m| m.iter().next()).unwrap_or(0);
        if self.temperature == 0.0 {
            return argmax(logits).unwrap_or_else(fallback);
        }
        let Some(best) = argmax(logits) else {
            return fallback();
        };
        let max_logit = logits[best as usize];
        self.candidates.clear();
        self.candidates.extend(
            (0u32..)
                .zip(logits.iter().copied())
                .filter(|(_, l)| *l > f32::NEG_INFINITY),
        );
        if let Some(k) = self.top_k {
            if k < self.candidates.len() {
                self.candidates.select_nth_unstable_by(k - 1, by_logit_desc);
                self.candidates.truncate(k);
            }
        }
        let inv_t = 1.0 / self.temperature;
        for candidate in &mut self.candidates {
            candidate.1 = ((candidate.1 - max_logit) * inv_t).exp();
        }
        if let Some(p) = self.top_p {
            self.keep_top_p(p);
        }
        let total: f64 = self.candidates.iter().map(|c| f64::from(c.1)).sum();
        let target = self.rng.next_f64() * total;
        let mut acc = 0.0;
        for &(token, weight) in &self.candidates {
            acc += f64::from(weight);
            if acc > target {
                return token;
            }
        }
        self.candidates.last().map_or(best, |c| c.0)
    }

    /// Keeps the most likely candidates whose weights reach `p` of the total. Sorts only as
    /// many candidates as needed, growing the sorted prefix 4x at a time.
    fn keep_top_p(&mut self, p: f32) {
        let total: f64 = self.candidates.iter().map(|c| f64::from(c.1)).sum();
        let target = f64::from(p) * total;
        let n = self.candidates.len();
        let mut k = n.min(64);
        loop {
            if k < n {
                self.candidates.select_nth_unstable_by(k - 1, by_logit_desc);
            }
            let head = &mut self.candidates[..k];
            let head_sum: f64 = head.iter().map(|c| f64::from(c.1)).sum();
            if head_sum >= target || k == n {
                head.sort_unstable_by(by_logit_desc);
                let mut acc = 0.0;
                let mut keep = k;
                for (i, c) in head.iter().enumerate() {
                    acc += f64::from(c.1);
                    if acc >= target {
                        keep = i + 1;
                        break;
                    }
                }
                self.candidates.truncate(keep);
                return;
            }
            k = (k * 4).min(n);
        }
    }

    fn penalise(&mut self, logits: &mut [f32], history: &[u32]) {
        if self.seen.len() < logits.len() {
            self.seen.resize(logits.len(), 0);
        }
        for &token in history {
            let Some(flag) = self.seen.get_mut(token as usize) else {
                continue;
            };
            if *flag == 1 {
                continue;
            }
            *flag = 1;
            let logit = &mut logits[token as usize];
            if *logit > 0.0 {
                *logit /= self.repetition_penalty;
            } else {
                *logit *= self.repetition_penalty;
            }
        }
        for &token in history {
            if let Some(flag) = self.seen.get_mut(token as usize) {
                *flag = 0;
            }
        }
    }
}

/// Descending by weight, then ascending by token id, so ties resolve the same way every run.
fn by_logit_desc(a: &(u32, f32), b: &(u32, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// The token with the largest finite logit (lowest id on ties); `None` when none is finite.
fn argmax(logits: &[f32]) -> Option<u32> {
    let mut best: Option<(u32, f32)> = None;
    for (token, &logit) in (0u32..).zip(logits) {
        if logit > f32::NEG_INFINITY && best.is_none_or(|(_, b)| logit > b) {
            best = Some((token, logit));
        }
    }
    best.map(|(token, _)| token)
}

/// What [`StopMatcher::push`] lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopCheck {
    /// Text that is safe to stream now.
    pub emit: String,
    /// A stop string was found: `emit` ends just before it, and generation should end.
    pub stopped: bool,
}

/// Finds stop strings in streamed text, across token boundaries. Text that could be the start
/// of a stop string is held back until it is known not to be one.
#[derive(Debug, Clone, Default)]
pub struct StopMatcher {
    stops: Vec<String>,
    pending: String,
    stopped: bool,
}

impl StopMatcher {
    /// A matcher for `stops` (empty strings are ignored).
    pub fn new(stops: &[String]) -> Self {
        Self {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            pending: String::new(),
            stopped: false,
        }
    }

    /// Adds decoded text; returns what can be streamed and whether a stop string was reached.
    pub fn push(&mut self, text: &str) -> StopCheck {
        if self.stopped {
            return StopCheck {
                emit: String::new(),
                stopped: true,
            };
        }
        self.pending.push_str(text);
        let first_stop = self
            .stops
            .iter()
            .filter_map(|s| self.pending.find(s.as_str()))
            .min();
        if let Some(at) = first_stop {
            self.pending.truncate(at);
            self.stopped = true;
            return StopCheck {
                emit: std::mem::take(&mut self.pending),
                stopped: true,
            };
        }
        let hold = self.hold_back_len();
        let emit: String = self.pending.drain(..self.pending.len() - hold).collect();
        StopCheck {
            emit,
            stopped: false,
        }
    }

    /// Bytes of text held back because they may begin a stop string.
    pub fn held_back(&self) -> usize {
        self.pending.len()
    }

    /// Releases the held-back text when generation ends without a stop string.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }

    /// Length of the longest suffix of `pending` that is a proper prefix of a stop string.
    fn hold_back_len(&self) -> usize {
        let pending = self.pending.as_str();
        (1..=pending.len())
            .rev()
            .filter(|&n| pending.is_char_boundary(pending.len() - n))
            .find(|&n| {
                let suffix = &pending[pending.len() - n..];
                self.stops
                    .iter()
                    .any(|s| s.len() > n && s.starts_with(suffix))
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(temperature: f32) -> SamplingParams {
        SamplingParams {
            temperature,
            seed: 7,
            ..SamplingParams::default()
        }
    }

    /// Frequencies of each token over `draws` samples from fixed logits.
    fn frequencies(params: &SamplingParams, logits: &[f32], draws: usize) -> Vec<f64> {
        let mut sampler = Sampler::new(params);
        let mut counts = vec![0usize; logits.len()];
        for _ in 0..draws {
            counts[sampler.sample(&mut logits.to_vec(), &[], None) as usize] += 1;
        }
        counts.iter().map(|&c| c as f64 / draws as f64).collect()
    }

    fn assert_close(actual: &[f64], expected: &[f64]) {
        for (a, e) in actual.iter().zip(expected) {
            assert!(
                (a - e).abs() < 0.015,
                "got {actual:?}, expected {expected:?}"
            );
        }
    }

    fn ln(p: &[f64]) -> Vec<f32> {
        p.iter().map(|p| p.ln() as f32).collect()
    }

    #[test]
    fn greedy_takes_the_largest_logit_and_respects_the_mask() {
        let mut sampler = Sampler::new(&params(0.0));
        assert_eq!(sampler.sample(&mut [0.1, 2.0, 1.0, 2.0], &[], None), 1);
        let mut mask = TokenMask::none(4);
        mask.allow(2);
        mask.allow(0);
        assert_eq!(
            sampler.sample(&mut [0.1, 2.0, 1.0, 2.0], &[], Some(&mask)),
            2
        );
        // Logits beyond the mask's length are never chosen.
        let mut short = TokenMask::none(2);
        short.allow(0);
        assert_eq!(sampler.sample(&mut [0.0, 0.0, 9.0], &[], Some(&short)), 0);
    }

    #[test]
    fn temperature_one_follows_the_softmax() {
        let p = [0.5, 0.3, 0.2];
        assert_close(&frequencies(&params(1.0), &ln(&p), 40_000), &p);
    }

    #[test]
    fn low_temperature_sharpens() {
        // T = 0.5 squares the probabilities: 0.25, 0.09, 0.04 over 0.38.
        let got = frequencies(&params(0.5), &ln(&[0.5, 0.3, 0.2]), 40_000);
        assert_close(&got, &[0.25 / 0.38, 0.09 / 0.38, 0.04 / 0.38]);
    }

    #[test]
    fn top_k_keeps_the_k_most_likely() {
        let p = SamplingParams {
            top_k: Some(2),
            ..params(1.0)
        };
        let got = frequencies(&p, &ln(&[0.2, 0.5, 0.3]), 40_000);
        assert_close(&got, &[0.0, 0.625, 0.375]);
        assert_eq!(got[0], 0.0);
    }

    #[test]
    fn top_p_keeps_the_smallest_set_reaching_p() {
        let probs = [0.05, 0.5, 0.3, 0.15];
        let p = SamplingParams {
            top_p: Some(0.75),
            ..params(1.0)
        };
        let got = frequencies(&p, &ln(&probs), 40_000);
        assert_close(&got, &[0.0, 0.625, 0.375, 0.0]);
        assert_eq!(got[0] + got[3], 0.0);
        // Equal weights over 1000 tokens with p = 0.5 need 500 of them: more than the first
        // sorted chunk (64), so the chunk grows; ties keep the lowest ids.
        let p = SamplingParams {
            top_p: Some(0.5),
            ..params(1.0)
        };
        let got = frequencies(&p, &[0.0; 1000], 20_000);
        assert_eq!(got[500..].iter().sum::<f64>(), 0.0);
        let low: f64 = got[..250].iter().sum();
        assert!((low - 0.5).abs() < 0.03, "{low}");
    }

    #[test]
    fn repetition_penalty_lowers_tokens_in_the_history() {
        let p = SamplingParams {
            repetition_penalty: 1.5,
            ..params(0.0)
        };
        let mut sampler = Sampler::new(&p);
        assert_eq!(sampler.sample(&mut [1.0, 0.9], &[0, 0, 0], None), 1);
        // Negative logits are multiplied, so a repeated token sinks further.
        assert_eq!(sampler.sample(&mut [-1.0, -1.2], &[0], None), 1);
        let mut logits = [2.0, -2.0, 1.0];
        sampler.sample(&mut logits, &[0, 1, 0, 1], None);
        assert_eq!(logits, [2.0 / 1.5, -3.0, 1.0]);
    }

    #[test]
    fn same_seed_same_tokens_other_seed_other_tokens() {
        let logits: Vec<f32> = (0..50).map(|i| (i % 7) as f32 * 0.3).collect();
        let run = |seed| {
            let mut sampler = Sampler::new(&SamplingParams {
                seed,
                ..params(1.0)
            });
            (0..200)
                .map(|_| sampler.sample(&mut logits.clone(), &[], None))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn masked_sampling_never_leaves_the_mask() {
        let mut mask = TokenMask::none(100);
        for t in [3, 50, 99] {
            mask.allow(t);
        }
        assert_eq!(mask.count(), 3);
        assert_eq!(mask.iter().collect::<Vec<_>>(), vec![3, 50, 99]);
        let mut sampler = Sampler::new(&params(1.5));
        for _ in 0..500 {
            let token = sampler.sample(&mut vec![0.0; 120], &[], Some(&mask));
            assert!(mask.allows(token), "{token}");
        }
        assert_eq!(TokenMask::all(70).count(), 70);
    }

    #[test]
    fn validate_rejects_out_of_range_parameters() {
        assert!(SamplingParams::default().validate().is_ok());
        let bad = [
            SamplingParams {
                temperature: -1.0,
                ..Default::default()
            },
            SamplingParams {
                temperature: f32::NAN,
                ..Default::default()
            },
            SamplingParams {
                top_k: Some(0),
                ..Default::default()
            },
            SamplingParams {
                top_p: Some(0.0),
                ..Default::default()
            },
            SamplingParams {
                top_p: Some(1.5),
                ..Default::default()
            },
            SamplingParams {
                repetition_penalty: 0.0,
                ..Default::default()
            },
            SamplingParams {
                max_tokens: 0,
                ..Default::default()
            },
            SamplingParams {
                stop_strings: vec![String::new()],
                ..Default::default()
            },
        ];
        for params in bad {
            assert!(params.validate().is_err(), "{params:?}");
        }
    }

    fn check_stops(stops: &[&str], chunks: &[&str], expected: &[(&str, bool)]) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut matcher = StopMatcher::new(&stops);
        let got: Vec<(String, bool)> = chunks
            .iter()
            .map(|c| {
                let check = matcher.push(c);
                (check.emit, check.stopped)
            })
            .collect();
        let expected: Vec<(String, bool)> =
            expected.iter().map(|(e, s)| (e.to_string(), *s)).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn stop_strings_are_found_across_chunks() {
        check_stops(
            &["END"],
            &["abc", "E", "N", "D", "x"],
            &[
                ("abc", false),
                ("", false),
                ("", false),
                ("", true),
                ("", true),
            ],
        );
        check_stops(&["END"], &["abE", "Nx"], &[("ab", false), ("ENx", false)]);
        check_stops(
            &["\n\n", "###"],
            &["a\n", "b##", "#c"],
            &[("a", false), ("\nb", false), ("", true)],
        );
        check_stops(&["é!"], &["caf\u{e9}", "!"], &[("caf", false), ("", true)]);
        let mut matcher = StopMatcher::new(&["stop".to_string()]);
        assert_eq!(matcher.push("a st").emit, "a ");
        assert_eq!(matcher.held_back(), 2);
        assert_eq!(matcher.finish(), "st");
    }
}
