//! The compact spec shape a language model proposes (entities with typed fields, and relations),
//! the JSON Schema that constrains its decoding, and a lenient reader for what it wrote —
//! including output cut short by a token limit, which is closed at the last complete value.

use codebegen_schema::Diagnostic;
use serde_json::{json, Value};

/// Field types a proposal may use: the scalar spec types that need no extra settings.
pub const PROPOSAL_FIELD_TYPES: [&str; 11] = [
    "string", "text", "integer", "float", "decimal", "boolean", "date", "datetime", "time",
    "email", "url",
];

/// Relation kinds a proposal may use.
pub const PROPOSAL_RELATION_KINDS: [&str; 3] = ["many_to_one", "many_to_many", "one_to_one"];

/// Most entities the schema lets a model write.
pub const MAX_PROPOSED_ENTITIES: usize = 10;
/// Most fields per entity the schema lets a model write.
pub const MAX_PROPOSED_FIELDS: usize = 8;
/// Most relations the schema lets a model write.
pub const MAX_PROPOSED_RELATIONS: usize = 12;

/// A proposed field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedField {
    /// As written by the model.
    pub name: String,
    /// As written by the model.
    pub field_type: String,
}

/// A proposed entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedEntity {
    /// As written by the model.
    pub name: String,
    /// Its fields.
    pub fields: Vec<ProposedField>,
}

/// A proposed relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedRelation {
    /// `many_to_one`, `many_to_many` or `one_to_one` (anything else is dropped on merge).
    pub kind: String,
    /// The child (many side).
    pub from: String,
    /// The parent.
    pub to: String,
}

/// What the model proposed, as far as it could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proposal {
    /// Entities.
    pub entities: Vec<ProposedEntity>,
    /// Relations.
    pub relations: Vec<ProposedRelation>,
}

/// The JSON Schema of a proposal, for constrained decoding. Every property is required and
/// listed in the order the model should write it.
pub fn proposal_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "entities": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": { "type": "string", "minLength": 1, "maxLength": 40 },
                        "fields": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "name": { "type": "string", "minLength": 1, "maxLength": 40 },
                                    "type": { "enum": PROPOSAL_FIELD_TYPES }
                                },
                                "required": ["name", "type"],
                                "additionalProperties": false
                            },
                            "maxItems": MAX_PROPOSED_FIELDS
                        }
                    },
                    "required": ["name", "fields"],
                    "additionalProperties": false
                },
                "minItems": 1,
                "maxItems": MAX_PROPOSED_ENTITIES
            },
            "relations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "kind": { "enum": PROPOSAL_RELATION_KINDS },
                        "from": { "type": "string", "minLength": 1, "maxLength": 40 },
                        "to": { "type": "string", "minLength": 1, "maxLength": 40 }
                    },
                    "required": ["kind", "from", "to"],
                    "additionalProperties": false
                },
                "maxItems": MAX_PROPOSED_RELATIONS
            }
        },
        "required": ["entities", "relations"],
        "additionalProperties": false
    })
}

/// Reads a model's output into a proposal plus notes. Never fails: unreadable parts are
/// skipped and said so.
pub fn parse_proposal(text: &str) -> (Proposal, Vec<Diagnostic>) {
    let mut notes = Vec::new();
    let value = match serde_json::from_str::<Value>(text.trim()) {
        Ok(value) => value,
        Err(_) => match close_truncated_json(text) {
            Some(value) => {
                notes.push(Diagnostic::info(
                    "model_output_truncated",
                    "",
                    "the model's proposal was cut short; its complete part was read",
                ));
                value
            }
            None => {
                notes.push(Diagnostic::warning(
                    "model_output_unreadable",
                    "",
                    "the model's proposal is not JSON; the rule-based spec is used as is",
                ));
                return (Proposal::default(), notes);
            }
        },
    };
    (read_value(&value), notes)
}

fn text_of(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn read_value(value: &Value) -> Proposal {
    let list = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let entities = list("entities")
        .iter()
        .filter_map(|e| {
            let name = text_of(e, "name")?;
            let fields = e
                .get("fields")
                .and_then(Value::as_array)
                .map(|fields| {
                    fields
                        .iter()
                        .filter_map(|f| {
                            Some(ProposedField {
                                name: text_of(f, "name")?,
                                field_type: text_of(f, "type")?,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(ProposedEntity { name, fields })
        })
        .collect();
    let relations = list("relations")
        .iter()
        .filter_map(|r| {
            Some(ProposedRelation {
                kind: text_of(r, "kind")?,
                from: text_of(r, "from")?,
                to: text_of(r, "to")?,
            })
        })
        .collect();
    Proposal {
        entities,
        relations,
    }
}

/// Closes JSON text that stops mid-way: cuts it after the last complete object or array and
/// appends the brackets still open there. `None` if no prefix parses.
pub fn close_truncated_json(text: &str) -> Option<Value> {
    let mut stack: Vec<char> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    // (end of a complete object/array, the closers still needed after it)
    let mut cuts: Vec<(usize, String)> = Vec::new();
    for (i, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => stack.push('}'),
            '[' => stack.push(']'),
            '}' | ']' => {
                if stack.pop() != Some(c) {
                    break;
                }
                cuts.push((i + c.len_utf8(), stack.iter().rev().collect()));
            }
            _ => {}
        }
    }
    cuts.iter().rev().find_map(|(end, closers)| {
        serde_json::from_str(&format!("{}{closers}", &text[..*end])).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_proposal_is_read() {
        let text = r#"{"entities":[{"name":"Book","fields":[{"name":"title","type":"string"}]}],
                       "relations":[{"kind":"many_to_one","from":"Book","to":"Author"}]}"#;
        let (proposal, notes) = parse_proposal(text);
        assert!(notes.is_empty());
        assert_eq!(proposal.entities.len(), 1);
        assert_eq!(proposal.entities[0].fields[0].field_type, "string");
        assert_eq!(proposal.relations[0].to, "Author");
    }

    #[test]
    fn a_truncated_proposal_keeps_its_complete_part() {
        let text = r#"{"entities":[{"name":"Book","fields":[{"name":"title","type":"string"}]},{"name":"Auth"#;
        let (proposal, notes) = parse_proposal(text);
        assert_eq!(notes[0].code, "model_output_truncated");
        assert_eq!(proposal.entities.len(), 1);
        assert_eq!(proposal.entities[0].name, "Book");
        let text = r#"{"entities":[{"name":"Book","fields":[{"name":"ti"#;
        let (proposal, _) = parse_proposal(text);
        assert!(proposal.entities.is_empty() || proposal.entities[0].fields.is_empty());
    }

    #[test]
    fn junk_gives_an_empty_proposal_and_a_warning() {
        for junk in ["", "hello", "{{{{", "]]]", "{\"entities\": 3}", "[1,2]"] {
            let (proposal, _) = parse_proposal(junk);
            assert_eq!(proposal, Proposal::default(), "{junk}");
        }
        assert_eq!(parse_proposal("nope").1[0].code, "model_output_unreadable");
    }

    #[test]
    fn the_schema_lists_every_key_the_reader_uses() {
        let schema = proposal_schema();
        let entity = &schema["properties"]["entities"]["items"]["properties"];
        assert!(entity.get("name").is_some() && entity.get("fields").is_some());
        let relation = &schema["properties"]["relations"]["items"]["properties"];
        for key in ["kind", "from", "to"] {
            assert!(relation.get(key).is_some(), "{key}");
        }
    }
}
