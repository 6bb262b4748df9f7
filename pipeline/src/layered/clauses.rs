//! Layer 4, clauses: a sentence's chunks become clauses — subject phrases, a verb group,
//! object phrases and prepositional phrases — with lists (`a, b and c`), relative clauses
//! (`members who join clubs`), headings (`Book: title, isbn`) and `with` lists
//! (`books with a title`). `X of Y` is folded here: `a list of tasks` is `tasks`, `the title of
//! a book` is a title owned by the book, `date of birth` one phrase.

use super::chunks::{Chunk, Count, NounPhrase, VerbGroup};
use super::lexicon::LEXICON;

/// One clause.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Clause {
    /// The subject list.
    pub subject: Vec<NounPhrase>,
    /// The verb, if any.
    pub verb: Option<VerbGroup>,
    /// The direct objects.
    pub objects: Vec<NounPhrase>,
    /// Prepositional phrases, in order: the preposition and its list.
    pub preps: Vec<(String, Vec<NounPhrase>)>,
    /// `Subject: a, b, c`.
    pub heading: bool,
    /// A relative clause about the phrase before it (`who`, `which`).
    pub relative: bool,
}

impl Clause {
    fn is_empty(&self) -> bool {
        self.subject.is_empty()
            && self.verb.is_none()
            && self.objects.is_empty()
            && self.preps.is_empty()
    }
}

fn is_field_word(np: &NounPhrase) -> bool {
    let name = np.singular_words().join("_");
    LEXICON.field_type(&name).is_some() || LEXICON.field_type(&np.head).is_some()
}

/// `X of Y` folded into one phrase.
fn fold_of(first: NounPhrase, second: NounPhrase) -> NounPhrase {
    if LEXICON.noun_is(&first.head, "collection") && first.head != "number" {
        let mut np = second;
        np.count = Count::Many;
        return np;
    }
    if is_field_word(&first)
        && !is_field_word(&second)
        && (second.determined || second.plural)
        && first.values.is_empty()
    {
        // `the title of the book`
        let mut np = first;
        np.owner = Some(Box::new(second));
        return np;
    }
    // `date of birth`, `number of seats`
    let mut np = first;
    np.words.push("of".into());
    np.words.extend(second.words.iter().cloned());
    np.head = second.head.clone();
    np.plural = false;
    np.values.extend(second.values);
    np.range = np.range.or(second.range);
    np
}

/// Reads a sentence's chunks into clauses.
pub(crate) fn read(chunks: &[Chunk]) -> Vec<Clause> {
    // Fold `X of Y` first.
    let mut folded: Vec<Chunk> = Vec::new();
    let mut i = 0;
    while i < chunks.len() {
        if let (Some(Chunk::Prep(p)), Some(Chunk::Noun(second))) =
            (chunks.get(i), chunks.get(i + 1))
        {
            if p == "of" {
                if let Some(Chunk::Noun(first)) = folded.last().cloned() {
                    folded.pop();
                    folded.push(Chunk::Noun(fold_of(first, second.clone())));
                    i += 2;
                    continue;
                }
            }
        }
        folded.push(chunks[i].clone());
        i += 1;
    }
    let chunks = folded;

    // A heading: one phrase, then a colon, before any verb.
    let colon = chunks.iter().position(|c| matches!(c, Chunk::Colon));
    if let Some(at) = colon {
        let before: Vec<&Chunk> = chunks[..at].iter().collect();
        let nouns: Vec<&NounPhrase> = before
            .iter()
            .filter_map(|c| match c {
                Chunk::Noun(np) => Some(np),
                _ => None,
            })
            .collect();
        if nouns.len() == 1 && !before.iter().any(|c| matches!(c, Chunk::Verb(_))) {
            let mut clause = Clause {
                subject: vec![nouns[0].clone()],
                heading: true,
                ..Clause::default()
            };
            let rest = read(&chunks[at + 1..]);
            // `Book: has a title` reads on; `Book: title, isbn` is a list.
            if rest
                .iter()
                .any(|c| c.verb.is_some() && !c.subject.is_empty())
                || rest.len() > 1
            {
                let mut out = vec![clause.clone()];
                for mut c in rest {
                    if c.subject.is_empty() {
                        c.subject = clause.subject.clone();
                    }
                    out.push(c);
                }
                return out;
            }
            if let Some(only) = rest.into_iter().next() {
                if only.verb.is_some() {
                    let mut c = only;
                    if c.subject.is_empty() {
                        c.subject = clause.subject.clone();
                    }
                    return vec![c];
                }
                clause.objects = only.subject;
                clause.objects.extend(only.objects);
                clause.preps = only.preps;
            }
            return vec![clause];
        }
    }

    let mut out: Vec<Clause> = Vec::new();
    let mut current = Clause::default();
    // Where the phrases since the last list boundary start, in `current.objects` or the last
    // prepositional list, for a subject that turns out to start a new clause.
    let mut in_prep = false;
    let mut last_np: Option<NounPhrase> = None;
    let mut after_boundary = true;
    for chunk in &chunks {
        match chunk {
            Chunk::Noun(np) => {
                if current.verb.is_none() && !in_prep {
                    current.subject.push(np.clone());
                } else if in_prep {
                    if let Some((_, list)) = current.preps.last_mut() {
                        list.push(np.clone());
                    }
                } else {
                    current.objects.push(np.clone());
                }
                last_np = Some(np.clone());
                after_boundary = false;
            }
            Chunk::Prep(p) => {
                current.preps.push((p.clone(), Vec::new()));
                in_prep = true;
            }
            Chunk::And | Chunk::Or | Chunk::Comma => {
                after_boundary = true;
            }
            Chunk::Rel(_) => {
                let antecedent = last_np.clone();
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                current.relative = true;
                current.subject = antecedent.into_iter().collect();
                in_prep = false;
            }
            Chunk::Verb(group) => {
                if current.verb.is_some()
                    || (current.subject.is_empty() && !out.is_empty() && current.relative)
                {
                    // A new clause: its subject is the phrase list just before the verb, or
                    // the previous clause's subject when there is none (`... and belong to`).
                    let mut subject = Vec::new();
                    if !after_boundary {
                        // Phrases since the last boundary are the new subject.
                        if in_prep {
                            if let Some((_, list)) = current.preps.last_mut() {
                                if let Some(np) = list.pop() {
                                    subject.push(np);
                                }
                            }
                        } else if let Some(np) = current.objects.pop() {
                            subject.push(np);
                        }
                    }
                    let inherited = if subject.is_empty() {
                        out.iter()
                            .rev()
                            .chain(std::iter::once(&current))
                            .find(|c| !c.relative || true)
                            .map(|_| current.subject.clone())
                            .unwrap_or_default()
                    } else {
                        subject
                    };
                    let prev_relative = current.relative;
                    out.push(std::mem::take(&mut current));
                    current.subject = inherited;
                    if prev_relative && current.subject.is_empty() {
                        current.subject = out.last().map(|c| c.subject.clone()).unwrap_or_default();
                    }
                }
                current.verb = Some(group.clone());
                in_prep = false;
                after_boundary = true;
            }
            Chunk::Colon => {
                after_boundary = true;
            }
            Chunk::Other(_) => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layered::{chunks::chunk, pos::tag, tokens::sentences};

    fn clauses(s: &str) -> Vec<Clause> {
        read(&chunk(&tag(&sentences(s)[0])))
    }

    fn heads(list: &[NounPhrase]) -> Vec<&str> {
        list.iter().map(|np| np.head.as_str()).collect()
    }

    #[test]
    fn subjects_verbs_objects_and_preps() {
        let c = clauses("attendees buy tickets for events");
        assert_eq!(heads(&c[0].subject), ["attendee"]);
        assert_eq!(c[0].verb.as_ref().map(|v| v.base.as_str()), Some("buy"));
        assert_eq!(heads(&c[0].objects), ["ticket"]);
        assert_eq!(c[0].preps[0].0, "for");
        assert_eq!(heads(&c[0].preps[0].1), ["event"]);
    }

    #[test]
    fn coordinated_and_relative_clauses() {
        let c = clauses("books have a title and belong to a publisher");
        assert_eq!(c.len(), 2);
        assert_eq!(heads(&c[1].subject), ["book"]);
        let c = clauses("students take courses and teachers grade them");
        assert_eq!(heads(&c[1].subject), ["teacher"]);
        let c = clauses("an employee reports to a manager who is an employee");
        assert!(c[1].relative);
        assert_eq!(heads(&c[1].subject), ["manager"]);
    }

    #[test]
    fn headings_and_of() {
        let c = clauses("Book: title, isbn, price");
        assert!(c[0].heading);
        assert_eq!(heads(&c[0].objects), ["title", "isbn", "price"]);
        let c = clauses("a user has a list of tasks and a date of birth");
        assert_eq!(c[0].objects[0].head, "task");
        assert_eq!(c[0].objects[1].words.join("_"), "date_of_birth");
    }
}
