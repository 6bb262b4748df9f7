//! Hybrid extraction: a model's proposal merged into the rule-based spec, conservatively.
//!
//! Invariant: the merged spec validates, and it keeps every entity, field and relation of the
//! rule-based spec exactly as validation leaves them, with the same name and auth. The model can
//! only add: an entity whose plural the prompt uses as a noun (not the app's own name, a role,
//! an auth word or a field the rules already found), a field whose words appear in the prompt
//! with a plain scalar type (added as optional), and a relation that links an entity it added.
//! Each addition is validated on its own and dropped if validation objects or if it would change
//! anything the rules produced. When the rules understood nothing (their generic fallback spec),
//! the model's admissible entities replace the fallback.

use codebegen_schema::names::{plural_word, pluralize, singularize, snake_case, words};
use codebegen_schema::{
    check, AppSpec, Diagnostic, Entity, Field, FieldType, OnDelete, Relation, RelationKind,
};

use crate::assist::proposal::{Proposal, ProposedEntity, PROPOSAL_FIELD_TYPES};
use crate::extract::Extraction;

/// Most entities a proposal may add.
const MAX_NEW_ENTITIES: usize = 4;
/// Most fields a proposal may add to one entity.
const MAX_NEW_FIELDS_PER_ENTITY: usize = 8;
/// Most relations a proposal may add.
const MAX_NEW_RELATIONS: usize = 6;
/// Proposed items read at most (the rest is ignored).
const MAX_READ: usize = 24;

/// Words that name the software or its plumbing rather than the data.
const NOT_DATA: &[&str] = &[
    "api",
    "app",
    "application",
    "backend",
    "frontend",
    "service",
    "system",
    "platform",
    "site",
    "website",
    "server",
    "database",
    "db",
    "jwt",
    "token",
    "password",
    "login",
    "log",
    "auth",
    "authentication",
    "role",
    "permission",
    "admin",
    "user",
    "data",
    "entity",
    "table",
    "field",
    "model",
    "resource",
    "record",
    "object",
    "thing",
    "type",
    "id",
];

/// Merges `proposal` into the rule-based extraction of `prompt`. See the module invariant.
pub fn merge(prompt: &str, rules: &Extraction, proposal: &Proposal) -> Extraction {
    let fell_back = rules.diagnostics.iter().any(|d| d.code == "not_understood");
    let Some(baseline) = Baseline::of(&rules.spec, fell_back) else {
        return rules.clone();
    };
    let mut merger = Merger {
        prompt_words: words(prompt),
        spec: rules.spec.clone(),
        baseline,
        added_entities: Vec::new(),
        notes: Vec::new(),
        ignored: 0,
    };
    if fell_back {
        merger.spec.entities.clear();
        merger.spec.relations.clear();
    }
    for entity in proposal.entities.iter().take(MAX_READ) {
        merger.entity(entity, proposal);
    }
    let mut relations_added = 0;
    for relation in proposal.relations.iter().take(MAX_READ) {
        if relations_added < MAX_NEW_RELATIONS && merger.relation(relation) {
            relations_added += 1;
        } else {
            merger.ignored += 1;
        }
    }
    if fell_back && merger.added_entities.is_empty() {
        return rules.clone();
    }
    let mut diagnostics = rules.diagnostics.clone();
    if fell_back {
        diagnostics.retain(|d| d.code != "not_understood");
    }
    diagnostics.append(&mut merger.notes);
    if merger.ignored > 0 {
        diagnostics.push(Diagnostic::info(
            "model_proposal_filtered",
            "",
            format!(
                "{} proposed item(s) were not added: the prompt does not support them, or they would change the rule-based spec",
                merger.ignored
            ),
        ));
    }
    Extraction {
        spec: merger.spec,
        diagnostics,
    }
}

/// What the rules produced, as validation leaves it: the merge must keep all of it.
struct Baseline {
    name: String,
    auth: codebegen_schema::Auth,
    entities: Vec<Entity>,
    relations: Vec<Relation>,
}

impl Baseline {
    fn of(rules: &AppSpec, fell_back: bool) -> Option<Baseline> {
        let checked = check(rules).spec?.into_inner();
        Some(Baseline {
            name: checked.name,
            auth: checked.auth,
            entities: if fell_back {
                Vec::new()
            } else {
                checked.entities
            },
            relations: if fell_back {
                Vec::new()
            } else {
                checked.relations
            },
        })
    }

    fn kept_by(&self, merged: &AppSpec) -> bool {
        merged.name == self.name
            && merged.auth == self.auth
            && self.entities.iter().all(|want| {
                merged.entity(&want.name).is_some_and(|got| {
                    got.table == want.table
                        && want.fields.iter().all(|f| got.field(&f.name) == Some(f))
                })
            })
            && self
                .relations
                .iter()
                .all(|want| merged.relations.contains(want))
    }
}

struct Merger {
    prompt_words: Vec<String>,
    spec: AppSpec,
    baseline: Baseline,
    added_entities: Vec<String>,
    notes: Vec<Diagnostic>,
    ignored: usize,
}

impl Merger {
    /// Applies `change` to a copy of the spec and keeps it when the result validates, keeps the
    /// baseline, and passes `accept` on the checked result.
    fn attempt(
        &mut self,
        change: impl FnOnce(&mut AppSpec),
        accept: impl FnOnce(&AppSpec) -> bool,
    ) -> bool {
        let mut candidate = self.spec.clone();
        change(&mut candidate);
        let Some(checked) = check(&candidate).spec else {
            return false;
        };
        let checked = checked.into_inner();
        if !self.baseline.kept_by(&checked) || !accept(&checked) {
            return false;
        }
        self.spec = candidate;
        true
    }

    fn entity_key(&self, key: &str) -> Option<usize> {
        self.spec
            .entities
            .iter()
            .position(|e| snake_case(&e.name) == key || e.table == pluralize(key))
    }

    fn entity(&mut self, proposed: &ProposedEntity, proposal: &Proposal) {
        let key = singularize(&snake_case(&proposed.name));
        if !plain_name(&key) {
            self.ignored += 1;
            return;
        }
        let fields: Vec<Field> = proposed
            .fields
            .iter()
            .take(MAX_READ)
            .filter_map(|f| self.field_candidate(&f.name, &f.field_type, proposal))
            .collect();
        self.ignored += proposed.fields.len().min(MAX_READ) - fields.len();
        match self.entity_key(&key) {
            Some(index) => {
                let entity_name = self.spec.entities[index].name.clone();
                let mut added = 0;
                for field in fields {
                    let exists = self.spec.entities[index].field(&field.name).is_some();
                    let name = field.name.clone();
                    if added < MAX_NEW_FIELDS_PER_ENTITY
                        && !exists
                        && self.attempt(|s| s.entities[index].fields.push(field), |_| true)
                    {
                        added += 1;
                        self.notes.push(Diagnostic::info(
                            "model_added_field",
                            format!("entities[{index}].fields"),
                            format!("the model added the optional field `{entity_name}.{name}`"),
                        ));
                    } else {
                        self.ignored += 1;
                    }
                }
            }
            None => {
                let admissible =
                    self.added_entities.len() < MAX_NEW_ENTITIES && self.new_entity_allowed(&key);
                let mut fields = fields;
                fields.truncate(MAX_NEW_FIELDS_PER_ENTITY);
                if fields.is_empty() {
                    // As the rules do for an entity named without fields.
                    let mut name = Field::new("name", FieldType::String);
                    name.max_length = Some(200);
                    fields.push(name);
                }
                let entity = Entity {
                    name: codebegen_schema::names::pascal_case(&key),
                    table: pluralize(&key),
                    fields,
                };
                let name = entity.name.clone();
                let table = entity.table.clone();
                let expected = name.clone();
                if admissible
                    && self.attempt(
                        |s| s.entities.push(entity),
                        |checked| checked.entity(&expected).is_some_and(|e| e.table == table),
                    )
                {
                    self.notes.push(Diagnostic::info(
                        "model_added_entity",
                        format!("entities[{}]", self.spec.entities.len() - 1),
                        format!("the model added the entity `{name}`, which the prompt mentions"),
                    ));
                    self.added_entities.push(name);
                } else {
                    self.ignored += 1;
                }
            }
        }
    }

    /// A field the prompt supports, or `None`.
    fn field_candidate(&self, raw: &str, raw_type: &str, proposal: &Proposal) -> Option<Field> {
        let name = snake_case(raw);
        let parts = words(&name);
        if !plain_name(&name)
            || parts.len() > 4
            || codebegen_schema::names::IMPLICIT_FIELDS.contains(&name.as_str())
            || name.ends_with("_id")
        {
            return None;
        }
        let names_an_entity = |key: &str| {
            let key = singularize(key);
            name == key || name == pluralize(&key)
        };
        if self
            .spec
            .entities
            .iter()
            .any(|e| names_an_entity(&snake_case(&e.name)))
            || proposal
                .entities
                .iter()
                .any(|e| names_an_entity(&snake_case(&e.name)))
        {
            return None;
        }
        if find_phrase(&self.prompt_words, &parts).is_empty() {
            return None;
        }
        let field_type = field_type(raw_type)?;
        let mut field = Field::new(&name, field_type);
        field.required = false;
        Some(field)
    }

    /// Whether a proposed entity that the rules lack may be added.
    fn new_entity_allowed(&self, key: &str) -> bool {
        let parts = words(key);
        if parts.len() > 3 || (parts.len() == 1 && NOT_DATA.contains(&key)) {
            return false;
        }
        let app_words = words(&self.spec.name);
        if parts.iter().all(|w| app_words.contains(w)) {
            return false;
        }
        if self.spec.auth.roles.iter().any(|r| snake_case(r) == key) {
            return false;
        }
        let suffix = format!("_{key}");
        let field_like = self.spec.entities.iter().any(|e| {
            snake_case(&e.name).ends_with(&suffix)
                || e.fields
                    .iter()
                    .any(|f| f.name == key || f.name == pluralize(key) || f.name.ends_with(&suffix))
        });
        if field_like {
            return false;
        }
        mentioned_as_noun(&self.prompt_words, &parts)
    }

    /// Adds a proposed relation when it links an entity the model added; true if added.
    fn relation(&mut self, proposed: &crate::assist::proposal::ProposedRelation) -> bool {
        let kind = match proposed.kind.as_str() {
            "many_to_one" => RelationKind::ManyToOne,
            "many_to_many" => RelationKind::ManyToMany,
            "one_to_one" => RelationKind::OneToOne,
            _ => return false,
        };
        let resolve = |raw: &str| {
            let key = singularize(&snake_case(raw));
            self.entity_key(&key)
                .map(|i| self.spec.entities[i].name.clone())
        };
        let (Some(from), Some(to)) = (resolve(&proposed.from), resolve(&proposed.to)) else {
            return false;
        };
        let links_new = self.added_entities.contains(&from) || self.added_entities.contains(&to);
        let related = self
            .spec
            .relations
            .iter()
            .any(|r| (r.from == from && r.to == to) || (r.from == to && r.to == from));
        if from == to || !links_new || related {
            return false;
        }
        let relation = Relation {
            kind,
            from: from.clone(),
            to: to.clone(),
            field: String::new(),
            required: false,
            on_delete: if kind == RelationKind::ManyToMany {
                OnDelete::Cascade
            } else {
                OnDelete::SetNull
            },
        };
        let added = self.attempt(|s| s.relations.push(relation), |_| true);
        if added {
            self.notes.push(Diagnostic::info(
                "model_added_relation",
                format!("relations[{}]", self.spec.relations.len() - 1),
                format!(
                    "the model added the relation {} `{from}` → `{to}`",
                    proposed.kind
                ),
            ));
        }
        added
    }
}

/// 1 to 40 characters of snake_case letters and digits, starting with a letter.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The spec type of a proposed field type: plain scalars only (no enum without values, no json).
fn field_type(raw: &str) -> Option<FieldType> {
    let (parsed, _) = FieldType::parse_lenient(raw)?;
    PROPOSAL_FIELD_TYPES
        .contains(&parsed.as_str())
        .then_some(parsed)
}

/// Start positions where `phrase` occurs in `words`.
fn find_phrase(words: &[String], phrase: &[String]) -> Vec<usize> {
    if phrase.is_empty() || phrase.len() > words.len() {
        return Vec::new();
    }
    words
        .windows(phrase.len())
        .enumerate()
        .filter(|(_, w)| w == &phrase)
        .map(|(i, _)| i)
        .collect()
}

/// Whether the prompt names `parts` as data: its plural appears (not as in "save X as
/// favorites"), or its singular after "each" or "every".
fn mentioned_as_noun(prompt: &[String], parts: &[String]) -> bool {
    let Some((last, head)) = parts.split_last() else {
        return false;
    };
    let mut plural = head.to_vec();
    plural.push(plural_word(last));
    let plural_ok = plural != parts
        && find_phrase(prompt, &plural)
            .iter()
            .any(|&i| i == 0 || prompt[i - 1] != "as");
    plural_ok
        || find_phrase(prompt, parts)
            .iter()
            .any(|&i| i > 0 && matches!(prompt[i - 1].as_str(), "each" | "every"))
}

#[cfg(test)]
#[path = "hybrid_tests.rs"]
mod tests;
