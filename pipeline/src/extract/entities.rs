//! Entities: which phrases can name a record type, and the registry that gives each one a
//! PascalCase singular name, a snake_case plural table and its fields.

use codebegen_schema::names::{
    is_reserved, pascal_case, pluralize, singular_word, singularize, snake_case,
    RESERVED_CLASS_NAMES,
};
use codebegen_schema::{Entity, Field};

use super::lexicon::{
    is_auxiliary, is_be, is_belong, is_conjunction, is_determiner, is_filler, is_have,
    is_name_word, is_participle, is_preposition, is_pronoun,
};

/// Most entities extraction produces.
pub(crate) const MAX_ENTITIES: usize = 40;
/// Most fields one entity gets.
pub(crate) const MAX_FIELDS: usize = 60;

/// The key of the entity that holds users.
pub(crate) const USER_KEY: &str = "user";

/// Adjectives dropped from the front of an entity phrase (`registered users` → `user`).
#[rustfmt::skip]
const ADJECTIVES: &[&str] = &[
    "registered", "logged-in", "authenticated", "anonymous", "other", "different", "individual",
    "specific", "related", "associated", "main", "certain", "particular", "separate", "single",
    "existing", "new", "given", "all", "various", "multiple", "several", "many", "their", "own",
];

/// The snake_case singular key an entity phrase names (`blog posts` → `blog_post`), or nothing
/// when the words cannot name an entity (filler, pronouns, verbs, too many words).
pub(crate) fn entity_key(words: &[String]) -> Option<String> {
    let mut words: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| is_name_word(w))
        .collect();
    while words.len() > 1 && ADJECTIVES.contains(&words[0]) {
        words.remove(0);
    }
    if words.is_empty() || words.len() > 3 {
        return None;
    }
    let function_word = |w: &str| {
        w.len() < 2
            || is_determiner(w)
            || is_pronoun(w)
            || is_preposition(w)
            || is_conjunction(w)
            || is_auxiliary(w)
            || is_be(w)
            || is_have(w)
            || is_belong(w)
            || is_participle(w)
    };
    if words.iter().any(|w| function_word(w)) {
        return None;
    }
    let last = words.last()?;
    if is_filler(last) || is_filler(&singular_word(last)) {
        return None;
    }
    let key = singularize(&snake_case(&words.join(" ")));
    let ok = key.starts_with(|c: char| c.is_ascii_lowercase()) && key.len() <= 40;
    ok.then_some(key)
}

/// One entity being built.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EntityDraft {
    /// The snake_case singular key (`order_item`).
    pub key: String,
    /// The entity as it will appear in the spec.
    pub entity: Entity,
}

/// The entities found so far, in the order first named.
#[derive(Debug, Clone, Default)]
pub(crate) struct Registry {
    /// Entities in order.
    pub drafts: Vec<EntityDraft>,
    /// Keys read as another entity (`admin` → `user` when admin is a role).
    aliases: Vec<(String, String)>,
    /// Whether the entity cap was hit.
    pub full: bool,
}

impl Registry {
    /// A registry where role words (`admin`, `members`) stand for the user entity.
    pub fn new(roles: &[String]) -> Registry {
        let mut aliases: Vec<(String, String)> = roles
            .iter()
            .map(|r| (singularize(r), USER_KEY.to_string()))
            .collect();
        if !roles.is_empty() {
            aliases.push(("administrator".into(), USER_KEY.into()));
        }
        Registry {
            drafts: Vec::new(),
            aliases,
            full: false,
        }
    }

    /// The key after aliases.
    pub fn resolve(&self, key: &str) -> String {
        self.aliases
            .iter()
            .find(|(from, _)| from == key)
            .map(|(_, to)| to.clone())
            .unwrap_or_else(|| key.to_string())
    }

    /// The index of the entity a key names: exact, or the one entity whose key ends with it
    /// (`item` → `order_item`).
    pub fn find(&self, key: &str) -> Option<usize> {
        let key = self.resolve(key);
        if let Some(i) = self.drafts.iter().position(|d| d.key == key) {
            return Some(i);
        }
        let suffix = format!("_{key}");
        let matches: Vec<usize> = (0..self.drafts.len())
            .filter(|&i| self.drafts[i].key.ends_with(&suffix))
            .collect();
        match matches.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }

    /// The index of the entity for a key, adding it when new. `None` when the registry is full.
    pub fn declare(&mut self, key: &str) -> Option<usize> {
        if let Some(i) = self.find(key) {
            return Some(i);
        }
        let key = self.resolve(key);
        let mut name = pascal_case(&key);
        if RESERVED_CLASS_NAMES.contains(&name.as_str()) {
            name.push_str("Record");
        }
        let mut table = pluralize(&key);
        if is_reserved(&table) {
            table = format!("app_{table}");
        }
        if let Some(i) = self
            .drafts
            .iter()
            .position(|d| d.entity.name == name || d.entity.table == table)
        {
            return Some(i);
        }
        if self.drafts.len() >= MAX_ENTITIES {
            self.full = true;
            return None;
        }
        self.drafts.push(EntityDraft {
            key,
            entity: Entity {
                name,
                table,
                fields: Vec::new(),
            },
        });
        Some(self.drafts.len() - 1)
    }

    /// Adds a field; a field of the same name is replaced when `replace`, else kept. Returns
    /// whether the field was stored.
    pub fn add_field(&mut self, index: usize, field: Field, replace: bool) -> bool {
        let Some(draft) = self.drafts.get_mut(index) else {
            return false;
        };
        let fields = &mut draft.entity.fields;
        if let Some(existing) = fields.iter_mut().find(|f| f.name == field.name) {
            let richer = existing.enum_values.is_none() && field.enum_values.is_some();
            if replace || richer {
                *existing = field;
                return true;
            }
            return false;
        }
        if fields.len() >= MAX_FIELDS {
            return false;
        }
        fields.push(field);
        true
    }

    /// The key of the entity at an index.
    pub fn key(&self, index: usize) -> &str {
        self.drafts.get(index).map(|d| d.key.as_str()).unwrap_or("")
    }

    /// The entity name for a key.
    pub fn name_of(&self, key: &str) -> Option<String> {
        self.find(key).map(|i| self.drafts[i].entity.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_key(input: &str, expected: Option<&str>) {
        let words: Vec<String> = input.split_whitespace().map(str::to_string).collect();
        assert_eq!(entity_key(&words).as_deref(), expected, "key of {input:?}");
    }

    #[test]
    fn keys() {
        check_key("books", Some("book"));
        check_key("blog posts", Some("blog_post"));
        check_key("registered users", Some("user"));
        check_key("categories", Some("category"));
        check_key("people", None);
        check_key("api", None);
        check_key("things", None);
        check_key("data", None);
        check_key("they", None);
        check_key("assigned", None);
        check_key("a b c d", None);
        check_key("", None);
        check_key("x", None);
    }

    #[test]
    fn registry() {
        let mut r = Registry::new(&["admin".into(), "member".into()]);
        let order_item = r.declare("order_item");
        assert_eq!(r.find("item"), order_item);
        assert_eq!(r.declare("admin"), r.declare("user"));
        let message = r.declare("message").expect("room");
        assert_eq!(r.drafts[message].entity.name, "MessageRecord");
        assert_eq!(r.drafts[message].entity.table, "messages");
        let group = r.declare("group").expect("room");
        assert_eq!(r.drafts[group].entity.table, "app_groups");
        assert!(r.add_field(
            message,
            Field::new("body", codebegen_schema::FieldType::Text),
            false
        ));
        assert!(!r.add_field(
            message,
            Field::new("body", codebegen_schema::FieldType::String),
            false
        ));
    }
}
