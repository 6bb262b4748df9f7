//! The character-level JSON machine: a fixed-size stack of small frames, one per open value,
//! stepped one byte at a time against a [`Grammar`]. The state is `Copy` and hashable so the mask
//! walk can keep one per trie depth and the mask cache can key on it.
//!
//! Output is compact JSON with at most one space after `:` and `,`, so the model cannot stall on
//! whitespace; strings are valid UTF-8 with JSON escapes (`\uXXXX` never a surrogate).

use super::schema::{Grammar, Node, MAX_DIGITS};

/// Deepest nesting of open values (including the document frame).
pub const MAX_DEPTH: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjPhase {
    Open,
    AfterOpen,
    InKey,
    Colon,
    AfterColon,
    AfterColonSpace,
    InValue,
    AfterValue,
    AfterComma,
    AfterCommaSpace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArrPhase {
    Open,
    AfterOpen,
    InItem,
    AfterItem,
    AfterComma,
    AfterCommaSpace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrPhase {
    Open,
    Body,
    Escape,
    /// Inside `\u`: how many hex digits came; `surrogate_check` after a leading `d`/`D`.
    Hex {
        seen: u8,
        surrogate_check: bool,
    },
    /// Inside a multi-byte character: `need` continuation bytes, the next in `lo..=hi`.
    Cont {
        need: u8,
        lo: u8,
        hi: u8,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumPhase {
    Start,
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
}

/// One open value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frame {
    /// The document: `done` once the root value is complete.
    Root { done: bool },
    /// `next`: index of the property being written, or the first that may still come.
    Object {
        node: u16,
        next: u16,
        phase: ObjPhase,
    },
    Array {
        node: u16,
        count: u16,
        phase: ArrPhase,
    },
    Str {
        node: u16,
        chars: u16,
        phase: StrPhase,
    },
    /// Matching one of `set`'s literals: those in `lo..hi` share the `matched` bytes so far.
    Literal {
        set: u16,
        lo: u16,
        hi: u16,
        matched: u16,
    },
    Number {
        integer: bool,
        digits: u8,
        phase: NumPhase,
    },
}

/// What a frame did with a byte.
enum Action {
    Consumed,
    Reject,
    /// Push this frame and feed it the same byte.
    PushRefeed(Frame),
    /// The byte completed this frame: pop it and tell the parent (with a payload).
    Pop(u16),
    /// This frame is complete and the byte belongs to the parent.
    PopRefeed(u16),
}

/// The machine's whole state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct State {
    frames: [Frame; MAX_DEPTH],
    len: u8,
}

const FILLER: Frame = Frame::Root { done: true };

impl State {
    /// The state before any byte.
    pub fn new() -> Self {
        let mut frames = [FILLER; MAX_DEPTH];
        frames[0] = Frame::Root { done: false };
        Self { frames, len: 1 }
    }

    /// The root value is complete: nothing more may be written.
    pub fn is_done(&self) -> bool {
        self.len == 1 && self.frames[0] == Frame::Root { done: true }
    }

    /// The document may end here (done, or a root number that could also go on).
    pub fn can_finish(&self) -> bool {
        self.is_done()
            || (self.len == 2
                && matches!(
                    self.frames[1],
                    Frame::Number {
                        phase: NumPhase::Zero | NumPhase::Int | NumPhase::Frac,
                        ..
                    }
                ))
    }

    /// Values open right now (the document frame included).
    pub fn depth(&self) -> usize {
        usize::from(self.len)
    }

    /// The same state with facts that cannot change the next `horizon` bytes' fate forgotten:
    /// the exact length of a long open string. Used as the mask-cache key.
    pub fn cache_key(&self, grammar: &Grammar, horizon: u16) -> Self {
        let mut key = *self;
        let top = usize::from(self.len) - 1;
        if let Frame::Str {
            node,
            chars,
            phase: StrPhase::Body,
        } = self.frames[top]
        {
            if let Node::String { min, max } = grammar.nodes[node as usize] {
                if chars >= min && max.saturating_sub(chars) > horizon {
                    key.frames[top] = Frame::Str {
                        node,
                        chars: u16::MAX,
                        phase: StrPhase::Body,
                    };
                }
            }
        }
        key
    }

    /// Feeds one byte; false (state unspecified) when the schema does not allow it here.
    pub fn step(&mut self, grammar: &Grammar, byte: u8) -> bool {
        loop {
            let top = usize::from(self.len) - 1;
            let action = step_frame(&mut self.frames[top], grammar, byte);
            match action {
                Action::Consumed => return true,
                Action::Reject => return false,
                Action::PushRefeed(frame) => {
                    if usize::from(self.len) == MAX_DEPTH {
                        return false;
                    }
                    self.frames[top + 1] = frame;
                    self.len += 1;
                }
                Action::Pop(payload) => {
                    self.pop(payload);
                    return true;
                }
                Action::PopRefeed(payload) => self.pop(payload),
            }
        }
    }

    fn pop(&mut self, payload: u16) {
        let top = usize::from(self.len) - 1;
        self.frames[top] = FILLER;
        self.len -= 1;
        child_done(&mut self.frames[top - 1], payload);
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

/// The frame that starts a value of `node` with `byte`, if `byte` can start one.
fn value_frame(grammar: &Grammar, node: u16, byte: u8) -> Option<Frame> {
    match &grammar.nodes[node as usize] {
        Node::Object { .. } => (byte == b'{').then_some(Frame::Object {
            node,
            next: 0,
            phase: ObjPhase::Open,
        }),
        Node::Array { .. } => (byte == b'[').then_some(Frame::Array {
            node,
            count: 0,
            phase: ArrPhase::Open,
        }),
        Node::String { .. } => (byte == b'"').then_some(Frame::Str {
            node,
            chars: 0,
            phase: StrPhase::Open,
        }),
        Node::Number { integer, .. } => grammar.starts(node, byte).then_some(Frame::Number {
            integer: *integer,
            digits: 0,
            phase: NumPhase::Start,
        }),
        Node::Literal { set } => {
            let hi = grammar.sets[*set as usize].items.len();
            Some(Frame::Literal {
                set: *set,
                lo: 0,
                hi: u16::try_from(hi).unwrap_or(u16::MAX),
                matched: 0,
            })
        }
        Node::Union { options } => options
            .iter()
            .find(|&&o| grammar.starts(o, byte))
            .and_then(|&o| value_frame(grammar, o, byte)),
    }
}

fn push_value(grammar: &Grammar, node: u16, byte: u8) -> Action {
    match value_frame(grammar, node, byte) {
        Some(frame) => Action::PushRefeed(frame),
        None => Action::Reject,
    }
}

fn child_done(parent: &mut Frame, payload: u16) {
    match parent {
        Frame::Root { done } => *done = true,
        Frame::Object { next, phase, .. } => match phase {
            ObjPhase::InKey => {
                *next = payload;
                *phase = ObjPhase::Colon;
            }
            _ => {
                *next += 1;
                *phase = ObjPhase::AfterValue;
            }
        },
        Frame::Array { count, phase, .. } => {
            *count += 1;
            *phase = ArrPhase::AfterItem;
        }
        Frame::Str { .. } | Frame::Literal { .. } | Frame::Number { .. } => {
            debug_assert!(false, "scalar frames have no children");
        }
    }
}

fn step_frame(frame: &mut Frame, grammar: &Grammar, byte: u8) -> Action {
    match frame {
        Frame::Root { done } => {
            if *done {
                return Action::Reject;
            }
            push_value(grammar, grammar.root, byte)
        }
        Frame::Object { node, next, phase } => step_object(grammar, *node, next, phase, byte),
        Frame::Array { node, count, phase } => {
            let Node::Array { item, min, max } = grammar.nodes[*node as usize] else {
                return Action::Reject;
            };
            match (*phase, byte) {
                (ArrPhase::Open, b'[') => {
                    *phase = ArrPhase::AfterOpen;
                    Action::Consumed
                }
                (ArrPhase::AfterOpen, b']') if min == 0 => Action::Pop(0),
                (ArrPhase::AfterOpen, _) if max > 0 => {
                    *phase = ArrPhase::InItem;
                    push_value(grammar, item, byte)
                }
                (ArrPhase::AfterItem, b',') if *count < max => {
                    *phase = ArrPhase::AfterComma;
                    Action::Consumed
                }
                (ArrPhase::AfterItem, b']') if *count >= min => Action::Pop(0),
                (ArrPhase::AfterComma, b' ') => {
                    *phase = ArrPhase::AfterCommaSpace;
                    Action::Consumed
                }
                (ArrPhase::AfterComma | ArrPhase::AfterCommaSpace, _) => {
                    *phase = ArrPhase::InItem;
                    push_value(grammar, item, byte)
                }
                _ => Action::Reject,
            }
        }
        Frame::Str { node, chars, phase } => {
            let Node::String { min, max } = grammar.nodes[*node as usize] else {
                return Action::Reject;
            };
            step_string(chars, phase, min, max, byte)
        }
        Frame::Literal {
            set,
            lo,
            hi,
            matched,
        } => {
            let items = &grammar.sets[*set as usize].items[usize::from(*lo)..usize::from(*hi)];
            let at = usize::from(*matched);
            let start = items.partition_point(|(b, _)| b.get(at).is_none_or(|&c| c < byte));
            let end = items.partition_point(|(b, _)| b.get(at).is_none_or(|&c| c <= byte));
            if start == end {
                return Action::Reject;
            }
            if end - start == 1 && items[start].0.len() == at + 1 {
                return Action::Pop(items[start].1);
            }
            *hi = *lo + end as u16;
            *lo += start as u16;
            *matched += 1;
            Action::Consumed
        }
        Frame::Number {
            integer,
            digits,
            phase,
        } => step_number(*integer, digits, phase, byte),
    }
}

fn step_object(
    grammar: &Grammar,
    node: u16,
    next: &mut u16,
    phase: &mut ObjPhase,
    byte: u8,
) -> Action {
    let Node::Object {
        props,
        key_sets,
        closable,
    } = &grammar.nodes[node as usize]
    else {
        return Action::Reject;
    };
    let k = usize::from(*next);
    let key = |phase: &mut ObjPhase| match key_sets[k] {
        Some(set) => {
            *phase = ObjPhase::InKey;
            let hi = grammar.sets[set as usize].items.len() as u16;
            Action::PushRefeed(Frame::Literal {
                set,
                lo: 0,
                hi,
                matched: 0,
            })
        }
        None => Action::Reject,
    };
    match (*phase, byte) {
        (ObjPhase::Open, b'{') => {
            *phase = ObjPhase::AfterOpen;
            Action::Consumed
        }
        (ObjPhase::AfterOpen, b'}') if closable[k] => Action::Pop(0),
        (ObjPhase::AfterOpen | ObjPhase::AfterComma | ObjPhase::AfterCommaSpace, b'"') => {
            key(phase)
        }
        (ObjPhase::Colon, b':') => {
            *phase = ObjPhase::AfterColon;
            Action::Consumed
        }
        (ObjPhase::AfterColon, b' ') => {
            *phase = ObjPhase::AfterColonSpace;
            Action::Consumed
        }
        (ObjPhase::AfterColon | ObjPhase::AfterColonSpace, _) => {
            *phase = ObjPhase::InValue;
            push_value(grammar, props[k], byte)
        }
        (ObjPhase::AfterValue, b',') if key_sets[k].is_some() => {
            *phase = ObjPhase::AfterComma;
            Action::Consumed
        }
        (ObjPhase::AfterValue, b'}') if closable[k] => Action::Pop(0),
        (ObjPhase::AfterComma, b' ') => {
            *phase = ObjPhase::AfterCommaSpace;
            Action::Consumed
        }
        _ => Action::Reject,
    }
}

fn step_string(chars: &mut u16, phase: &mut StrPhase, min: u16, max: u16, byte: u8) -> Action {
    match *phase {
        StrPhase::Open => {
            if byte != b'"' {
                return Action::Reject;
            }
            *phase = StrPhase::Body;
            Action::Consumed
        }
        StrPhase::Body => {
            if byte == b'"' {
                return if *chars >= min {
                    Action::Pop(0)
                } else {
                    Action::Reject
                };
            }
            if *chars >= max {
                return Action::Reject;
            }
            let next = match byte {
                b'\\' => StrPhase::Escape,
                0x20..=0x7F => StrPhase::Body,
                0xC2..=0xDF => StrPhase::Cont {
                    need: 1,
                    lo: 0x80,
                    hi: 0xBF,
                },
                0xE0 => StrPhase::Cont {
                    need: 2,
                    lo: 0xA0,
                    hi: 0xBF,
                },
                0xED => StrPhase::Cont {
                    need: 2,
                    lo: 0x80,
                    hi: 0x9F,
                },
                0xE1..=0xEF => StrPhase::Cont {
                    need: 2,
                    lo: 0x80,
                    hi: 0xBF,
                },
                0xF0 => StrPhase::Cont {
                    need: 3,
                    lo: 0x90,
                    hi: 0xBF,
                },
                0xF1..=0xF3 => StrPhase::Cont {
                    need: 3,
                    lo: 0x80,
                    hi: 0xBF,
                },
                0xF4 => StrPhase::Cont {
                    need: 3,
                    lo: 0x80,
                    hi: 0x8F,
                },
                _ => return Action::Reject,
            };
            *chars += 1;
            *phase = next;
            Action::Consumed
        }
        StrPhase::Escape => {
            *phase = match byte {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => StrPhase::Body,
                b'u' => StrPhase::Hex {
                    seen: 0,
                    surrogate_check: false,
                },
                _ => return Action::Reject,
            };
            Action::Consumed
        }
        StrPhase::Hex {
            seen,
            surrogate_check,
        } => {
            if !byte.is_ascii_hexdigit() {
                return Action::Reject;
            }
            // D800..DFFF are surrogates: after a leading d, the next digit must be 0-7.
            if surrogate_check && !matches!(byte, b'0'..=b'7') {
                return Action::Reject;
            }
            *phase = if seen == 3 {
                StrPhase::Body
            } else {
                StrPhase::Hex {
                    seen: seen + 1,
                    surrogate_check: seen == 0 && matches!(byte, b'd' | b'D'),
                }
            };
            Action::Consumed
        }
        StrPhase::Cont { need, lo, hi } => {
            if byte < lo || byte > hi {
                return Action::Reject;
            }
            *phase = if need == 1 {
                StrPhase::Body
            } else {
                StrPhase::Cont {
                    need: need - 1,
                    lo: 0x80,
                    hi: 0xBF,
                }
            };
            Action::Consumed
        }
    }
}

fn step_number(integer: bool, digits: &mut u8, phase: &mut NumPhase, byte: u8) -> Action {
    let digit = byte.is_ascii_digit();
    let (next, count) = match (*phase, byte) {
        (NumPhase::Start, b'-') => (NumPhase::Minus, 0),
        (NumPhase::Start | NumPhase::Minus, b'0') => (NumPhase::Zero, 1),
        (NumPhase::Start | NumPhase::Minus, _) if digit => (NumPhase::Int, 1),
        (NumPhase::Int, _) if digit && *digits < MAX_DIGITS => (NumPhase::Int, *digits + 1),
        (NumPhase::Zero | NumPhase::Int, b'.') if !integer => (NumPhase::Dot, 0),
        (NumPhase::Dot, _) if digit => (NumPhase::Frac, 1),
        (NumPhase::Frac, _) if digit && *digits < MAX_DIGITS => (NumPhase::Frac, *digits + 1),
        (NumPhase::Zero | NumPhase::Int | NumPhase::Frac, _) => return Action::PopRefeed(0),
        _ => return Action::Reject,
    };
    *phase = next;
    *digits = count;
    Action::Consumed
}
