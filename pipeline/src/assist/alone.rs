//! A model's proposal read as a whole spec on its own, without the rules: how `bench extract`
//! measures what the model understood by itself. A proposal has no name and no auth, so the
//! caller names the app and auth stays off; validation does the rest (names, tables, types).

use codebegen_schema::SPEC_VERSION;
use serde_json::{json, Value};

use crate::assist::proposal::Proposal;

/// The proposal as spec JSON named `name`, every entity, field and relation as the model wrote
/// it, for validation to read.
pub fn proposal_as_spec(name: &str, proposal: &Proposal) -> Value {
    let entities: Vec<Value> = proposal
        .entities
        .iter()
        .map(|entity| {
            let fields: Vec<Value> = entity
                .fields
                .iter()
                .map(|f| json!({ "name": f.name, "type": f.field_type }))
                .collect();
            json!({ "name": entity.name, "fields": fields })
        })
        .collect();
    let relations: Vec<Value> = proposal
        .relations
        .iter()
        .map(|r| json!({ "kind": r.kind, "from": r.from, "to": r.to }))
        .collect();
    json!({
        "version": SPEC_VERSION,
        "name": name,
        "entities": entities,
        "relations": relations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assist::parse_proposal;

    #[test]
    fn a_proposal_becomes_a_spec_that_validation_reads() {
        let (proposal, _) = parse_proposal(
            r#"{"entities":[{"name":"books","fields":[{"name":"Title","type":"string"},{"name":"price","type":"decimal"}]},
                            {"name":"Author","fields":[]}],
                "relations":[{"kind":"many_to_one","from":"books","to":"Author"}]}"#,
        );
        let value = proposal_as_spec("bookstore", &proposal);
        let checked = codebegen_schema::check_value(&value)
            .spec
            .expect("valid")
            .into_inner();
        assert_eq!(checked.name, "bookstore");
        assert!(!checked.auth.enabled);
        let book = checked.entity("Book").expect("Book");
        assert_eq!(book.fields.len(), 2);
        assert!(checked.entity("Author").is_some());
        assert_eq!(checked.relations.len(), 1);
        assert_eq!(
            (
                checked.relations[0].from.as_str(),
                checked.relations[0].to.as_str()
            ),
            ("Book", "Author")
        );
    }

    #[test]
    fn an_empty_proposal_is_an_empty_spec() {
        let value = proposal_as_spec("app", &Proposal::default());
        assert_eq!(value["entities"], json!([]));
        assert_eq!(value["relations"], json!([]));
    }
}
