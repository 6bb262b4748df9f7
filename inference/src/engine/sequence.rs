//! One request inside the engine: its tokens, sampler, constraint and streaming text state.

use crate::constrained::TokenConstraint;
use crate::sampling::{Sampler, StopMatcher};
use crate::tokenizer::{StreamDecoder, Tokenizer};

use super::{EngineEvent, FinishReason, Request};

/// What happens to a sequence after it sampled a token.
pub(super) enum Outcome {
    /// The token was appended; the sequence runs again.
    Continue,
    /// The sequence is done.
    Finished(FinishReason),
}

/// A live request.
pub(super) struct Sequence {
    id: u64,
    /// Prompt, then generated tokens (stop tokens excluded).
    tokens: Vec<u32>,
    n_prompt: usize,
    n_generated: usize,
    max_tokens: usize,
    stop_tokens: Vec<u32>,
    sampler: Sampler,
    constraint: Option<Box<dyn TokenConstraint>>,
    decoder: StreamDecoder,
    stop_matcher: StopMatcher,
    /// Text streamed so far.
    text: String,
}

impl Sequence {
    pub(super) fn new(request: Request, tokenizer: &Tokenizer) -> Self {
        let Request {
            id,
            prompt,
            params,
            constraint,
            priority: _,
        } = request;
        Self {
            id,
            n_prompt: prompt.len(),
            tokens: prompt,
            n_generated: 0,
            max_tokens: params.max_tokens,
            sampler: Sampler::new(&params),
            stop_matcher: StopMatcher::new(&params.stop_strings),
            stop_tokens: params.stop_tokens,
            constraint,
            decoder: tokenizer.stream_decoder(),
            text: String::new(),
        }
    }

    pub(super) fn id(&self) -> u64 {
        self.id
    }

    /// Prompt and generated tokens.
    pub(super) fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Samples the next token from `logits` and decides whether the sequence goes on; pushes
    /// the token's event. `max_len` is the most tokens the cache holds for one sequence.
    pub(super) fn sample(
        &mut self,
        logits: &mut [f32],
        eos: u32,
        max_len: usize,
        events: &mut Vec<EngineEvent>,
    ) -> Outcome {
        let mask = match &mut self.constraint {
            Some(constraint) => {
                let mask = constraint.mask();
                if mask.count() == 0 {
                    return failed("the constraint allows no next token".into());
                }
                Some(mask)
            }
            None => None,
        };
        let token = self.sampler.sample(logits, &self.tokens, mask.as_ref());
        self.n_generated += 1;
        if token == eos || self.stop_tokens.contains(&token) {
            if self.constraint.as_ref().is_some_and(|c| !c.is_complete()) {
                return failed(format!(
                    "stop token {token} came before the constrained output was complete"
                ));
            }
            let text = self.flush();
            self.emit(token, text, events);
            return Outcome::Finished(FinishReason::Stop);
        }
        if let Some(constraint) = &mut self.constraint {
            if let Err(error) = constraint.advance(token) {
                return failed(format!("the constraint rejected token {token}: {error}"));
            }
        }
        self.tokens.push(token);
        let piece = self.decoder.push(token).unwrap_or_default();
        let check = self.stop_matcher.push(&piece);
        let mut text = check.emit;
        if check.stopped {
            self.emit(token, text, events);
            return Outcome::Finished(FinishReason::Stop);
        }
        // A complete constrained output whose only possible next token is eos ends now,
        // saving the step that would sample that eos.
        if let Some(constraint) = &mut self.constraint {
            if constraint.is_complete() {
                let mask = constraint.mask();
                if mask.count() == 1 && mask.allows(eos) {
                    text.push_str(&self.flush());
                    self.emit(token, text, events);
                    return Outcome::Finished(FinishReason::Stop);
                }
            }
        }
        // The next step would run this token at position `tokens.len() - 1`.
        if self.n_generated >= self.max_tokens || self.tokens.len() > max_len {
            text.push_str(&self.flush());
            self.emit(token, text, events);
            return Outcome::Finished(FinishReason::Length);
        }
        self.emit(token, text, events);
        Outcome::Continue
    }

    /// The event that ends this sequence.
    pub(super) fn finished(self, reason: FinishReason) -> EngineEvent {
        EngineEvent::Finished {
            id: self.id,
            reason,
            text: self.text,
            n_prompt: self.n_prompt,
            n_generated: self.n_generated,
        }
    }

    fn emit(&mut self, token: u32, text: String, events: &mut Vec<EngineEvent>) {
        self.text.push_str(&text);
        events.push(EngineEvent::Token {
            id: self.id,
            token,
            text,
        });
    }

    /// Releases text held back by the decoder and the stop matcher at the end of generation.
    fn flush(&mut self) -> String {
        let tail = self.decoder.finish().unwrap_or_default();
        let check = self.stop_matcher.push(&tail);
        if check.stopped {
            return check.emit;
        }
        check.emit + &self.stop_matcher.finish()
    }
}

fn failed(message: String) -> Outcome {
    Outcome::Finished(FinishReason::Failed(message))
}
