//! The predicates that relate entities: `can`/`should` helpers, `is part of` / `is assigned to`,
//! `belongs to`, plain verbs (`speakers give talks in rooms`), commands, the project as subject,
//! and stated cardinalities (`many-to-many`).

use codebegen_schema::RelationKind;

use super::auth::auth_verb_len;
use super::clauses::{Reading, Statement};
use super::enums::{read_values, values_follow};
use super::lexicon::{
    is_association_verb, is_auxiliary, is_be, is_belong, is_conjunction, is_determiner,
    is_domain_head, is_enabling_verb, is_filler, is_have, is_participle, is_preposition, verb_base,
};
use super::phrases::{parse_phrase, Phrase, Quantity};
use super::predicates::{hint_for, is_creation_verb, split_objects, word, Found, Pred};
use super::sentences::{closing_paren, Kind, Token};

impl Reading {
    /// `can`, `should`, `also` ... then the real predicate.
    pub(super) fn auxiliary(&mut self, subject: Phrase, rest: &[Token], can: bool) -> bool {
        let mut k = 0;
        let mut can = can;
        loop {
            let w = word(rest, k);
            if matches!(w, "can" | "could" | "may" | "might" | "optionally") {
                can = true;
                k += 1;
            } else if is_auxiliary(w) || (w == "to" && k > 0) {
                k += 1;
            } else if matches!(w, "be" | "are" | "is")
                && word(rest, k + 1) == "able"
                && word(rest, k + 2) == "to"
            {
                k += 3;
            } else if w == "able" && word(rest, k + 1) == "to" {
                k += 2;
            } else {
                break;
            }
        }
        let rest = &rest[k..];
        let Some(first) = rest.first() else {
            return false;
        };
        let w = first.lower.as_str();
        if auth_verb_len(rest, 0).is_some() {
            return true;
        }
        if is_have(w) {
            return self.predicate(subject, Pred::Have, &rest[1..], can);
        }
        if is_belong(w) {
            return self.predicate(subject, Pred::Belong, &rest[1..], can);
        }
        if is_be(w) {
            return self.passive(subject, &rest[1..], can);
        }
        match verb_base(w) {
            Some(base) => self.verb(subject, base, &rest[1..], can),
            None => false,
        }
    }

    /// After `is` / `are` / `can be`: part-of, passive verbs, or values.
    pub(super) fn passive(&mut self, subject: Phrase, rest: &[Token], can: bool) -> bool {
        let mut k = 0;
        while matches!(
            word(rest, k),
            "either" | "also" | "only" | "usually" | "always" | "optionally" | "then"
        ) {
            k += 1;
        }
        let rest = &rest[k..];
        let w0 = word(rest, 0);
        if w0 == "able" && word(rest, 1) == "to" {
            return self.auxiliary(subject, &rest[2..], true);
        }
        if w0 == "part" && word(rest, 1) == "of" {
            return self.targets(subject, &rest[2..], can, None);
        }
        if matches!(
            w0,
            "in" | "inside" | "within" | "under" | "on" | "at" | "from"
        ) {
            return self.targets(subject, &rest[1..], can, None);
        }
        if is_participle(w0) {
            let base = verb_base(w0).unwrap_or("");
            let prep = word(rest, 1);
            let after = if is_preposition(prep) {
                &rest[2..]
            } else {
                &rest[1..]
            };
            let targets: Vec<Phrase> = self
                .items(after, &subject)
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect();
            for target in &targets {
                let many = target.quantity == Quantity::Many
                    || (is_association_verb(base)
                        && target.is_plural()
                        && (subject.is_plural() || can));
                if many {
                    let weak = is_association_verb(base) && target.quantity != Quantity::Many;
                    self.link(
                        subject.clone(),
                        target.clone(),
                        RelationKind::ManyToMany,
                        false,
                        None,
                        weak,
                    );
                } else {
                    let hint = (base == "assign")
                        .then_some("assignee")
                        .or((prep == "by").then(|| hint_for(base)).flatten());
                    let required = !can && !subject.optional && base != "assign";
                    self.link(
                        subject.clone(),
                        target.clone(),
                        RelationKind::ManyToOne,
                        required,
                        hint,
                        false,
                    );
                }
            }
            return !targets.is_empty();
        }
        let mut be_tokens = vec![Token {
            lower: "is".into(),
            kind: Kind::Word,
        }];
        be_tokens.extend_from_slice(rest);
        if values_follow(&be_tokens, 2).is_some() {
            let values = read_values(rest);
            let (owner_words, field_words) = if !subject.possessor.is_empty() {
                (subject.possessor.clone(), subject.words.clone())
            } else if !subject.of_parent.is_empty() {
                (subject.of_parent.clone(), subject.words.clone())
            } else if let Some(last) = self
                .last_owner
                .as_ref()
                .filter(|l| l.words != subject.words)
            {
                (last.words.clone(), subject.words.clone())
            } else {
                return false;
            };
            let owner = Phrase {
                words: owner_words,
                ..Phrase::default()
            };
            let field = Phrase {
                words: field_words,
                values,
                ..Phrase::default()
            };
            self.statements.push(Statement::Has {
                owner,
                items: vec![field],
                can: false,
            });
            return true;
        }
        false
    }

    /// `belongs to a publisher`, `are part of a board and a project`.
    pub(super) fn targets(
        &mut self,
        subject: Phrase,
        tokens: &[Token],
        can: bool,
        hint: Option<&'static str>,
    ) -> bool {
        let targets: Vec<Phrase> = self
            .items(tokens, &subject)
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        for target in &targets {
            let kind = if target.quantity == Quantity::Many
                || (can && target.is_plural() && subject.is_plural())
            {
                RelationKind::ManyToMany
            } else {
                RelationKind::ManyToOne
            };
            let required = !can && !subject.optional && !target.optional;
            self.link(subject.clone(), target.clone(), kind, required, hint, false);
        }
        !targets.is_empty()
    }

    /// `speakers give talks in rooms`, `attendees can bookmark talks`, `customers leave reviews on
    /// books with a rating`.
    pub(super) fn verb(
        &mut self,
        subject: Phrase,
        base: &'static str,
        rest: &[Token],
        can: bool,
    ) -> bool {
        if is_enabling_verb(base) {
            let mut tokens: Vec<Token> = rest.to_vec();
            if let Some(to) = tokens.iter().position(|t| t.is("to")).filter(|&i| i <= 5) {
                tokens.remove(to);
            }
            return self.clause(&tokens, None);
        }
        let (objects, parents, fields_at, more) = split_objects(rest);
        let objects: Vec<Phrase> = objects
            .iter()
            .map(|p| parse_phrase(p))
            .filter(|p| !p.is_empty())
            .filter_map(|p| match p.words.as_slice() {
                [w] if matches!(w.as_str(), "them" | "it" | "those" | "these") => {
                    self.last_object.clone()
                }
                _ => Some(p),
            })
            .collect();
        if let Some(last) = objects.last() {
            self.last_object = Some(last.clone());
        }
        let creation = !is_association_verb(base);
        for object in &objects {
            let shared = !creation
                || (can && subject.is_plural() && object.is_plural() && !is_creation_verb(base));
            if shared {
                self.link(
                    subject.clone(),
                    object.clone(),
                    RelationKind::ManyToMany,
                    false,
                    None,
                    true,
                );
            } else {
                self.link(
                    object.clone(),
                    subject.clone(),
                    RelationKind::ManyToOne,
                    true,
                    hint_for(base),
                    true,
                );
                for parent in &parents {
                    self.link(
                        object.clone(),
                        parent.clone(),
                        RelationKind::ManyToOne,
                        true,
                        None,
                        true,
                    );
                }
            }
        }
        if let (Some(at), Some(object)) = (fields_at, objects.last()) {
            let items = self.items(&rest[at..], object);
            self.statements.push(Statement::Has {
                owner: object.clone(),
                items,
                can: false,
            });
        }
        if let Some(at) = more {
            self.clause(&rest[at..], Some(&subject));
        }
        if objects.is_empty() && subject.is_plural() {
            self.statements.push(Statement::Mention(subject));
        }
        true
    }

    /// A command with no subject: `Track expenses`, `Create posts with a title`.
    pub(super) fn imperative(&mut self, found: Found, rest: &[Token]) -> bool {
        let Pred::Verb(_) = found.pred else {
            return false;
        };
        let (objects, _, fields_at, more) = split_objects(rest);
        let objects: Vec<Phrase> = objects
            .iter()
            .map(|p| parse_phrase(p))
            .filter(|p| !p.is_empty())
            .collect();
        for object in &objects {
            self.statements.push(Statement::Mention(object.clone()));
        }
        if let (Some(at), Some(object)) = (fields_at, objects.last()) {
            let items = self.items(&rest[at..], object);
            self.statements.push(Statement::Has {
                owner: object.clone(),
                items,
                can: false,
            });
        }
        if let Some(at) = more {
            self.clause(&rest[at..], None);
        }
        !objects.is_empty()
    }

    /// A subject that is the project itself: `The app has users, projects and tasks`.
    pub(super) fn domain(&mut self, subject: Phrase, found: Found, rest: &[Token]) -> bool {
        if self.name_hint.is_none()
            && self.statements.is_empty()
            && subject.words.last().is_some_and(|w| is_domain_head(w))
        {
            self.name_hint = Some(subject.words.clone());
        }
        match found.pred {
            Pred::Have | Pred::With | Pred::Colon | Pred::Be => {
                self.mention_list(rest);
                true
            }
            Pred::Paren => {
                self.mention_list(rest.get(1..closing_paren(rest, 0)).unwrap_or(&[]));
                true
            }
            Pred::Aux => {
                let k = rest
                    .iter()
                    .position(|t| {
                        !is_auxiliary(&t.lower) && !t.is("be") && !t.is("able") && !t.is("to")
                    })
                    .unwrap_or(rest.len());
                let tail = &rest[k..];
                match tail.first().map(|t| t.lower.as_str()) {
                    Some(w) if is_have(w) => self.mention_list(&tail[1..]),
                    Some(w) => match verb_base(w) {
                        Some(base) => self.domain(
                            subject,
                            Found {
                                at: 0,
                                len: 1,
                                pred: Pred::Verb(base),
                            },
                            &tail[1..],
                        ),
                        None => false,
                    },
                    None => false,
                }
            }
            Pred::Verb(base) if is_enabling_verb(base) => self.verb(subject, base, rest, false),
            Pred::Verb(_) => self.mention_list(rest),
            Pred::Belong | Pred::Auth => found.pred == Pred::Auth,
        }
    }

    /// `X and Y are many-to-many`, `a one-to-one between users and profiles`.
    pub(super) fn cardinality(
        &mut self,
        tokens: &[Token],
        at: usize,
        len: usize,
        kind: &str,
    ) -> bool {
        let mut groups: Vec<Vec<String>> = Vec::new();
        let mut current: Vec<String> = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            let w = t.lower.as_str();
            let skip = (at..at + len).contains(&i)
                || !t.is_word()
                || is_determiner(w)
                || is_preposition(w)
                || is_conjunction(w)
                || is_be(w)
                || is_have(w)
                || is_auxiliary(w)
                || is_filler(w)
                || matches!(
                    w,
                    "relation" | "relationship" | "association" | "link" | "many" | "one" | "there"
                );
            if skip {
                if !current.is_empty() {
                    groups.push(std::mem::take(&mut current));
                }
            } else {
                current.push(w.to_string());
            }
        }
        if !current.is_empty() {
            groups.push(current);
        }
        let [a, b, ..] = groups.as_slice() else {
            return false;
        };
        let a = Phrase {
            words: a.clone(),
            ..Phrase::default()
        };
        let b = Phrase {
            words: b.clone(),
            ..Phrase::default()
        };
        match kind {
            "many-to-many" => self.link(a, b, RelationKind::ManyToMany, false, None, false),
            "one-to-one" => self.link(b, a, RelationKind::OneToOne, true, None, false),
            "one-to-many" => self.link(b, a, RelationKind::ManyToOne, true, None, false),
            _ => self.link(a, b, RelationKind::ManyToOne, true, None, false),
        }
        true
    }
}
