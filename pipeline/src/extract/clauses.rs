//! Clauses: each sentence read into statements — what has which fields, what belongs to what,
//! which entities are named — by finding the subject, the predicate and what follows.

use codebegen_schema::RelationKind;

use super::auth::is_roles_clause;
use super::enums::read_values;
use super::lexicon::{
    is_conjunction, is_domain_head, is_filler, is_imperative, is_pronoun, verb_base,
};
use super::lists::{split_list, split_ranges};
use super::phrases::{parse_phrase, Phrase};
use super::predicates::{
    cardinality, clause_after, find_predicate, is_clause_piece, is_enum_word, is_value_piece, word,
    Pred,
};
use super::sentences::{closing_paren, lift_clauses, relative_split, strip_meta, Kind, Token};

/// One thing a clause says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Statement {
    /// An entity named without details.
    Mention(Phrase),
    /// `owner` has these items: fields, or children when they name entities.
    Has {
        owner: Phrase,
        items: Vec<Phrase>,
        can: bool,
    },
    /// A relation said outright. `from` holds the foreign key for many-to-one and one-to-one.
    Link {
        from: Box<Phrase>,
        to: Box<Phrase>,
        kind: RelationKind,
        required: bool,
        hint: Option<&'static str>,
        weak: bool,
    },
}

/// Everything read from a prompt.
#[derive(Debug, Default)]
pub(crate) struct Reading {
    /// Statements in prompt order.
    pub statements: Vec<Statement>,
    /// The phrase that names the project (`a bookstore API`), from the first sentence.
    pub name_hint: Option<Vec<String>>,
    /// Sentences that said nothing extraction understood.
    pub ignored: Vec<String>,
    pub(super) last_owner: Option<Phrase>,
    pub(super) last_object: Option<Phrase>,
    depth: usize,
}

const MAX_DEPTH: usize = 8;

fn text_of(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|t| t.lower.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads all sentences.
pub(crate) fn read(sentences: &[Vec<Token>]) -> Reading {
    let mut reading = Reading::default();
    for (i, sentence) in sentences.iter().enumerate() {
        reading.sentence(sentence, i == 0);
    }
    reading
}

impl Reading {
    fn sentence(&mut self, tokens: &[Token], first: bool) {
        let before = self.statements.len();
        let (main, lifted) = lift_clauses(tokens);
        let body = strip_meta(&main);
        let understood = match relative_split(body) {
            Some((at, len)) => {
                let head = self.head(&body[..at], first);
                let rest = self.clause(&body[at + len..], None);
                head || rest
            }
            None => self.head(body, first),
        };
        let mut lifted_ok = true;
        for clause in &lifted {
            lifted_ok &= self.clause(clause, None);
        }
        if self.statements.len() == before && !(understood && lifted_ok) {
            let text = text_of(tokens);
            let short: String = text.chars().take(80).collect();
            self.ignored.push(short);
        }
    }

    /// A sentence opening: `Header: rest`, or a whole clause.
    fn head(&mut self, tokens: &[Token], first: bool) -> bool {
        let colon = tokens.iter().position(|t| t.is_punct(":"));
        if let Some(c) = colon.filter(|&c| c > 0 && c <= 8 && !is_roles_clause(tokens)) {
            let (head, rest) = (&tokens[..c], &tokens[c + 1..]);
            let head_words: Vec<&str> = head
                .iter()
                .filter(|t| t.is_word())
                .map(|t| t.lower.as_str())
                .collect();
            let imperative = head_words
                .first()
                .and_then(|w| verb_base(w))
                .filter(|b| is_imperative(b) && head_words.len() >= 2);
            let listing = head_words.last().is_some_and(|w| {
                matches!(
                    *w,
                    "entities" | "models" | "tables" | "resources" | "objects" | "data"
                )
            });
            let domain = head_words.iter().any(|w| is_domain_head(w));
            let rest_is_clause = find_predicate(rest, false)
                .is_some_and(|f| f.pred.is_strong() || matches!(f.pred, Pred::Verb(_)));
            if listing {
                return self.mention_list(rest);
            }
            if imperative.is_some()
                || domain
                || (find_predicate(head, false).is_none() && rest_is_clause)
            {
                if first && self.name_hint.is_none() {
                    self.name_hint = Some(head_words.iter().map(|w| w.to_string()).collect());
                }
                if imperative.is_some() {
                    let objects = &head[1..];
                    for piece in split_list(objects) {
                        let p = parse_phrase(&piece);
                        if !p.is_empty() {
                            self.statements.push(Statement::Mention(p));
                        }
                    }
                }
                let rest_ok = self.clause(rest, None);
                return rest_ok || !head_words.is_empty();
            }
        }
        let n_words = tokens.iter().filter(|t| t.is_word()).count();
        let names_domain = tokens.iter().take(8).any(|t| is_domain_head(&t.lower));
        let terse = find_predicate(tokens, false).is_none()
            && (n_words <= 4 || (names_domain && n_words <= 8))
            && split_list(tokens).len() == 1;
        let named = tokens
            .iter()
            .filter(|t| t.is_word())
            .all(|t| !is_pronoun(&t.lower) && !is_conjunction(&t.lower));
        if first && terse && named {
            let p = parse_phrase(tokens);
            if !p.is_empty() {
                self.name_hint = Some(p.words);
                return true;
            }
        }
        self.clause(tokens, None)
    }

    /// Reads one clause; returns whether it was understood.
    pub(super) fn clause(&mut self, tokens: &[Token], inherited: Option<&Phrase>) -> bool {
        if self.depth >= MAX_DEPTH {
            return false;
        }
        self.depth += 1;
        let understood = self.clause_inner(tokens, inherited);
        self.depth -= 1;
        understood
    }

    fn clause_inner(&mut self, tokens: &[Token], inherited: Option<&Phrase>) -> bool {
        let mut start = 0;
        while start < tokens.len()
            && (tokens[start].kind == Kind::Punct && !tokens[start].is_punct("(")
                || matches!(
                    tokens[start].lower.as_str(),
                    "and" | "but" | "or" | "then" | "also" | "so" | "while"
                ))
        {
            start += 1;
        }
        let tokens = &tokens[start..];
        if !tokens.iter().any(Token::is_word) {
            return false;
        }
        if is_roles_clause(tokens) {
            return true;
        }
        if let Some((at, len, kind)) = cardinality(tokens) {
            return self.cardinality(tokens, at, len, kind);
        }
        let Some(found) = find_predicate(tokens, inherited.is_some()) else {
            return self.bare(tokens);
        };
        let subject_tokens = &tokens[..found.at];
        let rest = &tokens[(found.at + found.len).min(tokens.len())..];
        let mut subject = parse_phrase(subject_tokens);
        if subject.is_empty() || subject.words.iter().all(|w| is_pronoun(w)) {
            let pronoun = !subject.is_empty();
            match (inherited, &self.last_owner) {
                (Some(p), _) => subject = p.clone(),
                (None, Some(last)) if pronoun => subject = last.clone(),
                _ if found.pred == Pred::Auth => return true,
                _ if matches!(found.pred, Pred::Verb(_)) => return self.imperative(found, rest),
                _ if subject.words.first().is_some_and(|w| w == "there") => {
                    return self.mention_list(rest)
                }
                _ => return false,
            }
        }
        let names_project = self.name_hint.as_ref().is_some_and(|hint| {
            subject.definite
                && subject.words.len() == 1
                && hint.len() > 1
                && hint.contains(&subject.words[0])
        });
        let domain_head = subject.words.last().is_some_and(|w| {
            is_filler(w) || (is_domain_head(w) && !subject.distributive && !subject.is_plural())
        });
        if names_project
            || domain_head
            || matches!(
                subject.words.first().map(String::as_str),
                Some("we" | "you" | "i")
            )
        {
            return self.domain(subject, found, rest);
        }
        if !subject.of_parent.is_empty() {
            let parent = Phrase {
                words: subject.of_parent.clone(),
                ..Phrase::default()
            };
            let child = Phrase {
                of_parent: Vec::new(),
                ..subject.clone()
            };
            self.link(
                child.clone(),
                parent,
                RelationKind::ManyToOne,
                true,
                None,
                false,
            );
            subject = child;
        }
        if !(found.pred == Pred::Colon && is_enum_word(&subject)) {
            self.last_owner = Some(subject.clone());
        }
        let can = found.pred == Pred::Aux
            && matches!(word(tokens, found.at), "can" | "could" | "may" | "might");
        self.predicate(subject, found.pred, rest, can)
    }

    /// The predicate part of a clause with a known subject.
    pub(super) fn predicate(
        &mut self,
        subject: Phrase,
        pred: Pred,
        rest: &[Token],
        can: bool,
    ) -> bool {
        match pred {
            Pred::Colon
                if is_enum_word(&subject)
                    && self
                        .last_owner
                        .as_ref()
                        .is_some_and(|o| o.words != subject.words) =>
            {
                let owner = self.last_owner.clone().unwrap_or_default();
                let field = Phrase {
                    values: read_values(rest),
                    ..subject
                };
                self.statements.push(Statement::Has {
                    owner,
                    items: vec![field],
                    can,
                });
                true
            }
            Pred::Have | Pred::With | Pred::Colon => {
                let items = self.items(rest, &subject);
                self.statements.push(Statement::Has {
                    owner: subject,
                    items,
                    can,
                });
                true
            }
            Pred::Paren => {
                let end = closing_paren(rest, 0);
                let items = self.items(rest.get(1..end).unwrap_or(&[]), &subject);
                self.statements.push(Statement::Has {
                    owner: subject.clone(),
                    items,
                    can,
                });
                let after = rest.get(end + 1..).unwrap_or(&[]);
                if after.iter().any(Token::is_word) {
                    self.clause(after, Some(&subject));
                }
                true
            }
            Pred::Belong => {
                let to = if word(rest, 0) == "to" {
                    &rest[1..]
                } else {
                    rest
                };
                self.targets(subject, to, can, None)
            }
            Pred::Aux => self.auxiliary(subject, rest, can),
            Pred::Be => self.passive(subject, rest, can),
            Pred::Auth => {
                let next = rest
                    .iter()
                    .position(|t| t.is_punct(",") || t.is("and") || t.is("but"));
                if let Some(at) = next.filter(|&at| clause_after(&rest[at + 1..])) {
                    self.clause(&rest[at + 1..], Some(&subject));
                }
                true
            }
            Pred::Verb(base) => self.verb(subject, base, rest, can),
        }
    }

    /// A list of entities, each perhaps with its fields in parentheses.
    pub(super) fn mention_list(&mut self, tokens: &[Token]) -> bool {
        let owner = Phrase::default();
        let items = self.items(tokens, &owner);
        let mut any = false;
        for item in items {
            if item.is_empty() {
                continue;
            }
            any = true;
            if item.paren.is_empty() {
                self.statements.push(Statement::Mention(item));
            } else {
                let fields: Vec<Phrase> = item
                    .paren
                    .iter()
                    .map(|p| parse_phrase(p))
                    .filter(|p| !p.is_empty())
                    .collect();
                let owner = Phrase {
                    paren: Vec::new(),
                    ..item
                };
                self.statements.push(Statement::Has {
                    owner,
                    items: fields,
                    can: false,
                });
            }
        }
        any
    }

    /// A clause with no predicate: a list of entity names.
    fn bare(&mut self, tokens: &[Token]) -> bool {
        if tokens.iter().any(|t| is_domain_head(&t.lower)) {
            return true;
        }
        let pieces = split_list(tokens);
        let phrases: Vec<Phrase> = pieces.iter().map(|p| parse_phrase(p)).collect();
        let plausible =
            phrases.len() >= 2 && phrases.iter().all(|p| (1..=3).contains(&p.words.len()));
        if plausible {
            self.statements
                .extend(phrases.into_iter().map(Statement::Mention));
        }
        plausible
    }

    /// Splits a list into phrases. A piece that is a clause (`belong to a publisher`) is read
    /// with `owner` as subject, together with the rest of the list.
    pub(super) fn items(&mut self, tokens: &[Token], owner: &Phrase) -> Vec<Phrase> {
        let mut items: Vec<Phrase> = Vec::new();
        let mut absorbing = false;
        for (start, end) in split_ranges(tokens) {
            let piece = &tokens[start..end];
            if absorbing && is_value_piece(piece) {
                if let Some(last) = items.last_mut() {
                    for v in read_values(piece) {
                        if !last.values.contains(&v) {
                            last.values.push(v);
                        }
                    }
                }
                continue;
            }
            absorbing = false;
            if is_clause_piece(piece) {
                let inherited = (!owner.is_empty()).then_some(owner);
                self.clause(&tokens[start..], inherited);
                break;
            }
            let p = parse_phrase(piece);
            if p.is_marker_only() {
                if let Some(last) = items.last_mut() {
                    last.absorb_markers(&p);
                }
                continue;
            }
            if p.is_empty() && p.values.is_empty() {
                continue;
            }
            absorbing = p.open_values;
            items.push(p);
        }
        items
    }

    pub(super) fn link(
        &mut self,
        from: Phrase,
        to: Phrase,
        kind: RelationKind,
        required: bool,
        hint: Option<&'static str>,
        weak: bool,
    ) {
        self.statements.push(Statement::Link {
            from: Box::new(from),
            to: Box::new(to),
            kind,
            required,
            hint,
            weak,
        });
    }
}

#[cfg(test)]
#[path = "clauses_tests.rs"]
mod tests;
