//! Unit tests of the conservative merge.

use super::*;
use crate::assist::proposal::{parse_proposal, ProposedField, ProposedRelation};
use crate::extract::extract;

fn entity(name: &str, fields: &[(&str, &str)]) -> ProposedEntity {
    ProposedEntity {
        name: name.into(),
        fields: fields
            .iter()
            .map(|(n, t)| ProposedField {
                name: (*n).into(),
                field_type: (*t).into(),
            })
            .collect(),
    }
}

fn relation(kind: &str, from: &str, to: &str) -> ProposedRelation {
    ProposedRelation {
        kind: kind.into(),
        from: from.into(),
        to: to.into(),
    }
}

/// Merges with the rules read from `rules_prompt`, while the model saw `prompt`.
fn merged(rules_prompt: &str, prompt: &str, proposal: Proposal) -> (Extraction, Extraction) {
    let rules = extract(rules_prompt);
    let hybrid = merge(prompt, &rules, &proposal);
    assert!(
        check(&hybrid.spec).spec.is_some(),
        "the merge validates: {:?}",
        check(&hybrid.spec).diagnostics
    );
    (rules, hybrid)
}

fn entity_names(spec: &AppSpec) -> Vec<&str> {
    spec.entities.iter().map(|e| e.name.as_str()).collect()
}

#[test]
fn a_mentioned_entity_with_prompt_fields_is_added_and_linked() {
    let prompt = "Talks have a title. Speakers have a bio and a twitter handle and give talks.";
    let proposal = Proposal {
        entities: vec![entity(
            "Speakers",
            &[
                ("bio", "text"),
                ("twitter_handle", "string"),
                ("age", "integer"),
            ],
        )],
        relations: vec![relation("many_to_one", "Talk", "Speaker")],
    };
    let (rules, hybrid) = merged("Talks have a title.", prompt, proposal);
    assert!(rules.spec.entity("Speaker").is_none());
    let speaker = hybrid.spec.entity("Speaker").expect("added");
    let names: Vec<&str> = speaker.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["bio", "twitter_handle"], "age is not in the prompt");
    assert!(speaker.fields.iter().all(|f| !f.required));
    assert!(hybrid
        .spec
        .relations
        .iter()
        .any(|r| r.from == "Talk" && r.to == "Speaker" && !r.required));
    assert!(hybrid
        .diagnostics
        .iter()
        .any(|d| d.code == "model_added_entity"));
}

#[test]
fn words_that_are_not_data_are_refused() {
    let prompt = "A bookstore API: books have a title and a price. Admins manage books. Roles: admin, \
                  editor. Users can save books as favorites. Order items have a quantity. Users log in.";
    let rules_prompt = prompt;
    let junk = [
        "Bookstore",
        "Api",
        "Admin",
        "Role",
        "Roles",
        "Favorite",
        "Item",
        "User",
        "Log",
        "Editor",
        "Price",
        "Title",
        "Zebra",
    ];
    let proposal = Proposal {
        entities: junk
            .iter()
            .map(|n| entity(n, &[("title", "string")]))
            .collect(),
        relations: vec![relation("many_to_many", "Book", "Favorite")],
    };
    let (rules, hybrid) = merged(rules_prompt, prompt, proposal);
    assert_eq!(entity_names(&hybrid.spec), entity_names(&rules.spec));
    assert_eq!(hybrid.spec.relations, rules.spec.relations);
}

#[test]
fn rule_fields_and_relations_never_change() {
    let prompt = "A bookstore: books have a title and a price, and belong to a publisher. Each book has a subtitle.";
    let proposal = Proposal {
        entities: vec![
            entity(
                "Book",
                &[
                    ("title", "integer"),
                    ("price", "string"),
                    ("subtitle", "string"),
                    ("publisher", "string"),
                    ("publisher_id", "integer"),
                    ("id", "integer"),
                    ("created_at", "datetime"),
                    ("colour", "enum"),
                ],
            ),
            entity("Publisher", &[("book", "string")]),
        ],
        relations: vec![
            relation("many_to_many", "Book", "Publisher"),
            relation("one_to_one", "Publisher", "Book"),
            relation("sideways", "Book", "Publisher"),
        ],
    };
    let (rules, hybrid) = merged(prompt, prompt, proposal);
    let before = rules.spec.entity("Book").expect("rules read books");
    let after = hybrid.spec.entity("Book").expect("kept");
    for field in &before.fields {
        assert_eq!(after.field(&field.name), Some(field));
    }
    let added: Vec<&str> = after
        .fields
        .iter()
        .filter(|f| before.field(&f.name).is_none())
        .map(|f| f.name.as_str())
        .collect();
    assert!(added.iter().all(|f| *f == "subtitle"), "{added:?}");
    assert_eq!(hybrid.spec.relations, rules.spec.relations);
    assert_eq!(hybrid.spec.auth, rules.spec.auth);
    assert_eq!(hybrid.spec.name, rules.spec.name);
}

#[test]
fn an_empty_or_junk_proposal_leaves_the_rules_alone() {
    let prompt = "Conference app: speakers give talks in rooms.";
    let rules = extract(prompt);
    for text in ["", "garbage", "{\"entities\": [{\"name\": \"\"}]}", "{\"entities\":[{\"name\":\"$$$\",\"fields\":[{\"name\":\"a b c d e f\",\"type\":\"string\"}]}],\"relations\":[]}"] {
        let (proposal, _) = parse_proposal(text);
        let hybrid = merge(prompt, &rules, &proposal);
        assert_eq!(hybrid.spec, rules.spec, "{text}");
    }
}

#[test]
fn a_fallback_spec_is_replaced_by_mentioned_entities_only() {
    // Rules read from a prompt they cannot understand; the model saw a richer one.
    let prompt = "zorblax quux: gadgets and widgets everywhere";
    let rules = extract("hmm");
    assert!(
        rules.diagnostics.iter().any(|d| d.code == "not_understood"),
        "this prompt makes the rules fall back: {:?}",
        rules.diagnostics
    );
    let unmentioned = Proposal {
        entities: vec![entity("Sprocket", &[("size", "integer")])],
        relations: vec![],
    };
    assert_eq!(merge(prompt, &rules, &unmentioned).spec, rules.spec);
    let mentioned = Proposal {
        entities: vec![entity("Gadget", &[]), entity("Widget", &[])],
        relations: vec![relation("many_to_one", "Widget", "Gadget")],
    };
    let hybrid = merge(prompt, &rules, &mentioned);
    assert_eq!(entity_names(&hybrid.spec), ["Gadget", "Widget"]);
    assert_eq!(hybrid.spec.relations.len(), 1);
    assert!(check(&hybrid.spec).spec.is_some());
    assert!(!hybrid
        .diagnostics
        .iter()
        .any(|d| d.code == "not_understood"));
}

#[test]
fn additions_are_capped() {
    let nouns = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    let prompt = nouns
        .iter()
        .map(|n| format!("{} ", plural_word(n)))
        .collect::<String>();
    let rules = extract("Notes have a body.");
    let proposal = Proposal {
        entities: nouns.iter().map(|n| entity(n, &[])).collect(),
        relations: vec![],
    };
    let hybrid = merge(&prompt, &rules, &proposal);
    assert_eq!(
        hybrid.spec.entities.len(),
        rules.spec.entities.len() + MAX_NEW_ENTITIES
    );
}

#[test]
fn noun_mentions() {
    let prompt = words("Users save recipes as favorites. Each profile has a bio.");
    let w = |s: &str| words(s);
    assert!(mentioned_as_noun(&prompt, &w("recipe")));
    assert!(!mentioned_as_noun(&prompt, &w("favorite")));
    assert!(mentioned_as_noun(&prompt, &w("profile")));
    assert!(!mentioned_as_noun(&prompt, &w("bio")));
}
