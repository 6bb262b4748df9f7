//! Building: statements become entities with fields and links between them, a template fills
//! in a terse prompt, and auth adds its user.

use codebegen_schema::names::singular_word;
use codebegen_schema::{Diagnostic, Entity, Field, FieldType, Relation, RelationKind};

use super::auth::{order_roles, AuthInfo};
use super::clauses::{Reading, Statement};
use super::entities::{entity_key, Registry, USER_KEY};
use super::fields::{field_from_phrase, is_field_word, FieldOutcome};
use super::phrases::{parse_phrase, Phrase, Quantity};
use super::relations::{attach_roots_to_user, infer_containment, settle, to_relation, LinkDraft};
use super::templates::{instantiate, Template};

/// Words whose plural in a field list reads as a many-to-many (`posts have tags`).
#[rustfmt::skip]
const SHARED_CHILDREN: &[&str] = &[
    "tag", "label", "genre", "skill", "topic", "category", "member", "participant", "collaborator",
];

/// A note about one field, placed once the final entity order is known.
#[derive(Debug, Clone)]
pub(crate) struct FieldNote {
    /// Entity key.
    pub entity: String,
    /// Field name.
    pub field: String,
    /// The note.
    pub diagnostic: Diagnostic,
}

/// The entities, links and auth read so far.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    /// Entities.
    pub registry: Registry,
    /// Links between entity keys.
    pub links: Vec<LinkDraft>,
    /// Auth and roles.
    pub auth: AuthInfo,
    /// Notes about the whole spec.
    pub notes: Vec<Diagnostic>,
    /// Notes about single fields.
    pub field_notes: Vec<FieldNote>,
}

impl Model {
    /// Builds the model from the statements.
    pub fn from_reading(reading: &Reading, auth: AuthInfo) -> Model {
        let mut model = Model {
            registry: Registry::new(&auth.roles),
            links: Vec::new(),
            auth,
            notes: Vec::new(),
            field_notes: Vec::new(),
        };
        for statement in &reading.statements {
            match statement {
                Statement::Mention(p) => {
                    model.declare(p);
                }
                Statement::Has { owner, .. } => {
                    model.declare(owner);
                }
                Statement::Link { from, to, .. } => {
                    model.declare(from);
                    model.declare(to);
                }
            }
        }
        for statement in &reading.statements {
            match statement {
                Statement::Mention(_) => {}
                Statement::Has { owner, items, can } => {
                    if let Some(index) = model.declare(owner) {
                        for item in items {
                            model.item(index, item, *can);
                        }
                    }
                }
                Statement::Link {
                    from,
                    to,
                    kind,
                    required,
                    hint,
                    weak,
                } => {
                    let (Some(f), Some(t)) = (model.declare(from), model.declare(to)) else {
                        continue;
                    };
                    let link = LinkDraft {
                        kind: *kind,
                        from: model.registry.key(f).to_string(),
                        to: model.registry.key(t).to_string(),
                        required: *required,
                        hint: hint.map(str::to_string),
                        weak: *weak,
                    };
                    model.links.push(link);
                }
            }
        }
        if model.registry.full {
            model.notes.push(Diagnostic::warning(
                "too_many_entities",
                "entities",
                format!(
                    "the prompt names more than {} entities; the rest were ignored",
                    super::entities::MAX_ENTITIES
                ),
            ));
        }
        model
    }

    fn declare(&mut self, phrase: &Phrase) -> Option<usize> {
        entity_key(&phrase.words).and_then(|key| self.registry.declare(&key))
    }

    /// Entities other than the user.
    pub fn domain_entity_count(&self) -> usize {
        self.registry
            .drafts
            .iter()
            .filter(|d| d.key != USER_KEY)
            .count()
    }

    /// One item of `owner has …`: a field, or a child/parent entity.
    fn item(&mut self, owner: usize, item: &Phrase, can: bool) {
        let owner_key = self.registry.key(owner).to_string();
        let words = &item.words;
        if words.len() >= 2 && words.last().is_some_and(|w| w == "id") {
            let parent = entity_key(&words[..words.len() - 1]).and_then(|k| self.registry.find(&k));
            if let Some(parent) = parent {
                let parent_key = self.registry.key(parent).to_string();
                self.links.push(LinkDraft::many_to_one(
                    &owner_key,
                    &parent_key,
                    !item.optional,
                ));
                return;
            }
        }
        let last = words.last().map(String::as_str).unwrap_or("");
        let key = entity_key(words);
        let known = key
            .as_ref()
            .and_then(|k| self.registry.find(k))
            .filter(|&i| i != owner);
        let typed = !item.values.is_empty()
            || item.explicit_type.is_some()
            || item.min.is_some()
            || item.max.is_some()
            || item.unit.is_some()
            || item.count
            || item.flag
            || item.default.is_some();
        let entity_like = key.is_some()
            && !typed
            && (known.is_some()
                || item.quantity == Quantity::Many
                || ((item.quantity == Quantity::One || last == "profile") && !is_field_word(last))
                || (item.is_plural() && !is_field_word(last)));
        let Some(key) = key.filter(|_| entity_like) else {
            self.add_field(owner, item);
            return;
        };
        let Some(child) = self.registry.declare(&key) else {
            return;
        };
        if child == owner {
            self.add_field(owner, item);
            return;
        }
        for piece in &item.paren {
            self.add_field(child, &parse_phrase(piece));
        }
        let child_key = self.registry.key(child).to_string();
        let shared = SHARED_CHILDREN.contains(&singular_word(last).as_str());
        let link = match item.quantity {
            Quantity::Many if can => LinkDraft {
                kind: RelationKind::ManyToMany,
                ..LinkDraft::many_to_one(&owner_key, &child_key, false)
            },
            Quantity::Many => LinkDraft::many_to_one(&child_key, &owner_key, true),
            _ if item.is_plural() && shared => LinkDraft {
                kind: RelationKind::ManyToMany,
                ..LinkDraft::many_to_one(&owner_key, &child_key, false)
            },
            _ if item.is_plural() => LinkDraft::many_to_one(&child_key, &owner_key, true),
            Quantity::One => LinkDraft {
                kind: RelationKind::OneToOne,
                ..LinkDraft::many_to_one(&child_key, &owner_key, true)
            },
            _ if last == "profile" => LinkDraft {
                kind: RelationKind::OneToOne,
                ..LinkDraft::many_to_one(&child_key, &owner_key, true)
            },
            _ => LinkDraft::many_to_one(&owner_key, &child_key, !item.optional),
        };
        self.links.push(link);
    }

    /// Adds a phrase as a field of an entity, with its notes.
    fn add_field(&mut self, owner: usize, phrase: &Phrase) {
        let owner_key = self.registry.key(owner).to_string();
        let entity_name = self
            .registry
            .drafts
            .get(owner)
            .map(|d| d.entity.name.clone())
            .unwrap_or_default();
        match field_from_phrase(phrase) {
            FieldOutcome::Column(field, note) => {
                if owner_key == USER_KEY && field.name == "role" {
                    if let Some(values) = field.enum_values.clone().filter(|_| self.auth.roles.is_empty()) {
                        self.auth.roles = order_roles(values);
                        self.auth.enabled = true;
                    }
                    self.notes.push(Diagnostic::info(
                        "auth_managed_field",
                        "auth.roles",
                        "a user's role is managed by auth (`auth.roles`), not a field",
                    ));
                    return;
                }
                let name = field.name.clone();
                if self.registry.add_field(owner, field, false) {
                    if let Some(message) = note {
                        self.field_notes.push(FieldNote {
                            entity: owner_key,
                            field: name,
                            diagnostic: Diagnostic::info("inferred_type", "", message),
                        });
                    }
                }
            }
            FieldOutcome::Implicit(name) => self.notes.push(Diagnostic::info(
                "implicit_field",
                "",
                format!("`{entity_name}.{name}` is generated for every entity (id, created_at, updated_at); not added"),
            )),
            FieldOutcome::Password => {
                if !self.auth.enabled {
                    self.auth.enabled = true;
                    self.auth.reason = "password".into();
                }
                self.notes.push(Diagnostic::info(
                    "auth_managed_field",
                    "",
                    format!("`{entity_name}` mentions a password; auth stores a hashed password on `User`"),
                ));
            }
            FieldOutcome::Skip => self.notes.push(Diagnostic::info(
                "ignored_phrase",
                "",
                format!("`{}` on `{entity_name}` is not a usable field name; ignored", phrase.words.join(" ")),
            )),
        }
    }

    /// Puts a template's entities first and merges what was read into them (read fields win).
    pub fn merge_template(&mut self, template: &Template) {
        let (entities, links) = instantiate(template);
        let mut registry = Registry::new(&self.auth.roles);
        for (key, fields) in entities {
            if let Some(index) = registry.declare(&key) {
                for field in fields {
                    registry.add_field(index, field, false);
                }
            }
        }
        for draft in std::mem::take(&mut self.registry.drafts) {
            if let Some(index) = registry.declare(&draft.key) {
                for field in draft.entity.fields {
                    registry.add_field(index, field, true);
                }
            }
        }
        let mut merged = links;
        merged.append(&mut self.links);
        self.links = merged;
        self.registry = registry;
        if template.auth && !self.auth.enabled {
            self.auth.enabled = true;
            self.auth.reason = format!("a {} needs users", template.name.replace('_', " "));
        }
        self.notes.push(Diagnostic::info(
            "template",
            "",
            format!(
                "the prompt names a `{}` but describes little; started from that template",
                template.name
            ),
        ));
    }

    /// Settles links, adds the user for auth and inferred links, and gives every entity a field.
    pub fn finish(mut self) -> (Vec<Entity>, Vec<Relation>, Model) {
        if self.auth.enabled {
            let user = self.registry.declare(USER_KEY).map(|i| {
                let draft = self.registry.drafts.remove(i);
                self.registry.drafts.insert(0, draft);
                0
            });
            if let Some(draft) = user.and_then(|i| self.registry.drafts.get_mut(i)) {
                let fields = &mut draft.entity.fields;
                fields.retain(|f| f.name != "email");
                let mut email = Field::new("email", FieldType::Email);
                email.unique = true;
                fields.insert(0, email);
            }
        }
        let keys: Vec<String> = self.registry.drafts.iter().map(|d| d.key.clone()).collect();
        let mut links = settle(std::mem::take(&mut self.links), &mut self.notes);
        links.retain(|l| {
            self.registry.find(&l.from).is_some() && self.registry.find(&l.to).is_some()
        });
        infer_containment(&keys, &mut links, &mut self.notes);
        if self.auth.enabled {
            attach_roots_to_user(&keys, &mut links, &mut self.notes);
        }
        let links = settle(links, &mut self.notes);
        for draft in &mut self.registry.drafts {
            if draft.entity.fields.is_empty() {
                let mut name = Field::new("name", FieldType::String);
                name.max_length = Some(200);
                draft.entity.fields.push(name);
                self.notes.push(Diagnostic::info(
                    "default_field",
                    "",
                    format!(
                        "no fields were given for `{}`; added `name`",
                        draft.entity.name
                    ),
                ));
            }
        }
        let relations: Vec<Relation> = links
            .iter()
            .filter_map(|l| to_relation(l, &self.registry))
            .collect();
        let entities: Vec<Entity> = self
            .registry
            .drafts
            .iter()
            .map(|d| d.entity.clone())
            .collect();
        self.links = links;
        (entities, relations, self)
    }
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
