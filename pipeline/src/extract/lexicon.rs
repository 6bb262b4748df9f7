//! The reviewed word tables (`tables/*.txt`), parsed once: closed word classes, verbs with their
//! class, forms and event nouns, attribute words with their types, and noun classes.
//!
//! Every table is data: a `[section]` line starts a class and the words after it belong to it.
//! Nothing here decides anything; the layers above look words up.

use std::collections::HashMap;
use std::sync::LazyLock;

use codebegen_schema::FieldType;

/// How a verb links its subject and objects (see `tables/verbs.txt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VerbClass {
    /// The subject makes or keeps the object.
    Own,
    /// Subject and object meet through an event noun.
    Assoc,
    /// The subject stores the objects (fields or children).
    Contain,
    /// The subject is put in or under the prepositional object.
    Place,
    /// The subject belongs to the prepositional object.
    Belong,
    /// The subject joins its objects (`a booking ties a shipper to a voyage`).
    Join,
    /// Logging in.
    Auth,
    /// Known, with no relation of its own.
    Other,
}

/// The grammatical form of a verb token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VerbForm {
    /// `write`
    Base,
    /// `writes`
    Third,
    /// `wrote`
    Past,
    /// `written`, or a regular `-ed`
    Participle,
    /// `writing`
    Gerund,
}

/// One verb of the table.
#[derive(Debug, Clone)]
pub(crate) struct Verb {
    /// Base form.
    pub base: String,
    /// Its class.
    pub class: VerbClass,
    /// The event nouns it makes (`borrow` → loan, borrowing, checkout).
    pub nouns: Vec<String>,
    /// Its participle (`run`, `written`, `booked`).
    pub participle: String,
}

/// All tables.
#[derive(Debug, Default)]
pub(crate) struct Lexicon {
    closed: HashMap<String, String>,
    verbs: HashMap<String, Verb>,
    forms: HashMap<String, (String, VerbForm)>,
    field_types: HashMap<String, FieldType>,
    noun_classes: HashMap<String, Vec<String>>,
}

fn sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((name.to_string(), Vec::new()));
        } else if let Some((_, words)) = out.last_mut() {
            words.extend(line.split_whitespace().map(str::to_string));
        }
    }
    out
}

fn is_vowel(c: char) -> bool {
    "aeiou".contains(c)
}

/// Regular forms of a verb: `-s`, `-ed`, `-ing`, with the usual spelling changes.
pub(crate) fn regular_forms(base: &str) -> [(String, VerbForm); 3] {
    let chars: Vec<char> = base.chars().collect();
    let n = chars.len();
    let last = chars.last().copied().unwrap_or('x');
    let before = if n >= 2 { chars[n - 2] } else { 'a' };
    let third = if base.ends_with(['s', 'x', 'z']) || base.ends_with("ch") || base.ends_with("sh") {
        format!("{base}es")
    } else if last == 'y' && !is_vowel(before) {
        format!("{}ies", &base[..base.len() - 1])
    } else {
        format!("{base}s")
    };
    // Doubling for short consonant-vowel-consonant verbs (`ship` → `shipped`).
    let doubles = (3..=4).contains(&n)
        && !is_vowel(last)
        && !"wxy".contains(last)
        && is_vowel(before)
        && !is_vowel(chars[n - 3]);
    let (past, gerund) = if last == 'e' {
        let stem = &base[..base.len() - 1];
        (format!("{base}d"), format!("{stem}ing"))
    } else if last == 'y' && !is_vowel(before) {
        (
            format!("{}ied", &base[..base.len() - 1]),
            format!("{base}ing"),
        )
    } else if doubles {
        (format!("{base}{last}ed"), format!("{base}{last}ing"))
    } else {
        (format!("{base}ed"), format!("{base}ing"))
    };
    [
        (third, VerbForm::Third),
        (past, VerbForm::Participle),
        (gerund, VerbForm::Gerund),
    ]
}

impl Lexicon {
    fn load() -> Lexicon {
        let mut lexicon = Lexicon::default();
        for (tag, words) in sections(include_str!("tables/words.txt")) {
            for word in words {
                lexicon.closed.entry(word).or_insert_with(|| tag.clone());
            }
        }
        for line in include_str!("tables/verbs.txt").lines() {
            let line = line.trim();
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(base), Some(class)) = (cols.first(), cols.get(1)) else {
                continue;
            };
            let class = match *class {
                "own" => VerbClass::Own,
                "assoc" => VerbClass::Assoc,
                "contain" => VerbClass::Contain,
                "place" => VerbClass::Place,
                "belong" => VerbClass::Belong,
                "auth" => VerbClass::Auth,
                "join" => VerbClass::Join,
                _ => VerbClass::Other,
            };
            if base.contains('_') || lexicon.verbs.contains_key(*base) {
                continue;
            }
            let nouns = cols
                .get(2)
                .filter(|c| **c != "-")
                .map(|c| c.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            for (form, kind) in regular_forms(base) {
                lexicon
                    .forms
                    .entry(form)
                    .or_insert((base.to_string(), kind));
            }
            if let Some(past) = cols.get(3) {
                lexicon
                    .forms
                    .insert(past.to_string(), (base.to_string(), VerbForm::Past));
            }
            if let Some(participle) = cols.get(4) {
                lexicon.forms.insert(
                    participle.to_string(),
                    (base.to_string(), VerbForm::Participle),
                );
            }
            lexicon
                .forms
                .insert(base.to_string(), (base.to_string(), VerbForm::Base));
            let participle = cols
                .get(4)
                .map(|p| p.to_string())
                .unwrap_or_else(|| regular_forms(base)[1].0.clone());
            lexicon.verbs.insert(
                base.to_string(),
                Verb {
                    base: base.to_string(),
                    class,
                    nouns,
                    participle,
                },
            );
        }
        for (section, words) in sections(include_str!("tables/fields.txt")) {
            let Some(field_type) = FieldType::ALL.iter().find(|t| t.as_str() == section) else {
                continue;
            };
            for word in words {
                lexicon.field_types.entry(word).or_insert(*field_type);
            }
        }
        for (section, words) in sections(include_str!("tables/nouns.txt")) {
            for word in words {
                lexicon
                    .noun_classes
                    .entry(word)
                    .or_default()
                    .push(section.clone());
            }
        }
        lexicon
    }

    /// The closed class of a word (`determiner`, `preposition`, ...), if it has one.
    pub fn closed_class(&self, word: &str) -> Option<&str> {
        self.closed.get(word).map(String::as_str)
    }

    /// The verb a word is a form of, with the form.
    pub fn verb_form(&self, word: &str) -> Option<(&Verb, VerbForm)> {
        let (base, form) = self.forms.get(word)?;
        Some((self.verbs.get(base)?, *form))
    }

    /// A verb by base form.
    pub fn verb(&self, base: &str) -> Option<&Verb> {
        self.verbs.get(base)
    }

    /// Whether a noun names an event some verb makes (`booking`, `loan`, `enrollment`).
    pub fn is_event_noun(&self, noun: &str) -> bool {
        self.verbs
            .values()
            .any(|v| v.nouns.iter().any(|n| n == noun))
    }

    /// The type an attribute word implies (`price` → decimal).
    pub fn field_type(&self, word: &str) -> Option<FieldType> {
        self.field_types.get(word).copied()
    }

    /// Whether a noun belongs to a class of `tables/nouns.txt`.
    pub fn noun_is(&self, word: &str, class: &str) -> bool {
        self.noun_classes
            .get(word)
            .is_some_and(|classes| classes.iter().any(|c| c == class))
    }
}

/// The tables, parsed on first use.
pub(crate) static LEXICON: LazyLock<Lexicon> = LazyLock::new(Lexicon::load);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verb_forms_come_from_the_table_and_the_spelling_rules() {
        let check = |word: &str, base: &str, form: VerbForm| {
            let (verb, got) = LEXICON.verb_form(word).expect(word);
            assert_eq!((verb.base.as_str(), got), (base, form), "{word}");
        };
        check("writes", "write", VerbForm::Third);
        check("written", "write", VerbForm::Participle);
        check("borrowed", "borrow", VerbForm::Participle);
        check("ships", "ship", VerbForm::Third);
        check("shipped", "ship", VerbForm::Participle);
        check("organized", "organize", VerbForm::Participle);
        check("carries", "carry", VerbForm::Third);
        check("applied", "apply", VerbForm::Participle);
        check("booking", "book", VerbForm::Gerund);
        check("taught", "teach", VerbForm::Participle);
        check("bought", "buy", VerbForm::Participle);
        check("ran", "run", VerbForm::Past);
    }

    #[test]
    fn tables_are_read() {
        assert_eq!(LEXICON.closed_class("the"), Some("determiner"));
        assert_eq!(LEXICON.field_type("price"), Some(FieldType::Decimal));
        assert_eq!(LEXICON.field_type("due_date"), Some(FieldType::Date));
        assert!(LEXICON.noun_is("tag", "shared"));
        assert_eq!(
            LEXICON.verb("borrow").map(|v| v.class),
            Some(VerbClass::Assoc)
        );
    }
}
