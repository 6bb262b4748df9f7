//! Every prompt in `fixtures/prompts.json` extracts to a spec that validation accepts without
//! errors and that holds what the fixture expects: entities, typed fields, relations and auth.

use codebegen_pipeline::extract::extract;
use codebegen_schema::{check, has_errors, AppSpec, RelationKind};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    id: String,
    prompt: String,
    expect: Expect,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    entities: Vec<String>,
    /// Entities that must not appear (garbage such as `Api` or `Log`).
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default)]
    fields: Vec<FieldExpect>,
    #[serde(default)]
    relations: Vec<RelationExpect>,
    #[serde(default)]
    auth: Option<bool>,
    #[serde(default)]
    roles: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldExpect {
    entity: String,
    name: String,
    #[serde(rename = "type")]
    field_type: String,
    #[serde(default)]
    required: Option<bool>,
    #[serde(default)]
    unique: Option<bool>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    enum_values: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RelationExpect {
    kind: String,
    from: String,
    to: String,
}

const PUBLIC_PROMPTS: [&str; 5] = [
    "A bookstore API: books have a title, isbn, price and publication date, and belong to a publisher. Authors write books (a book can have several authors). Customers leave reviews on books with a rating from 1 to 5 and a comment.",
    "Track expenses: users have accounts; each expense has an amount, a category (food, travel, rent, other), a date and an optional note.",
    "A kanban board backend with boards, columns and cards. Cards have a title, description, position and due date; members can be assigned to cards. Users log in with email and password.",
    "url shortener",
    "Conference app: speakers give talks in rooms; a talk has a title, abstract, start time and duration in minutes; attendees can bookmark talks.",
];

fn fixtures() -> Vec<Fixture> {
    let text = include_str!("../fixtures/prompts.json");
    serde_json::from_str(text).expect("fixtures/prompts.json is valid")
}

fn kind_of(raw: &str) -> RelationKind {
    match raw {
        "many_to_one" => RelationKind::ManyToOne,
        "many_to_many" => RelationKind::ManyToMany,
        "one_to_one" => RelationKind::OneToOne,
        other => panic!("unknown relation kind {other} in fixture"),
    }
}

/// What a spec lacks compared to the expectations, one line each.
fn mismatches(spec: &AppSpec, expect: &Expect) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(name) = &expect.name {
        if &spec.name != name {
            out.push(format!("name is {}, expected {name}", spec.name));
        }
    }
    for entity in &expect.entities {
        if spec.entity(entity).is_none() {
            out.push(format!("missing entity {entity}"));
        }
    }
    for entity in &expect.absent {
        if spec.entity(entity).is_some() {
            out.push(format!("unexpected entity {entity}"));
        }
    }
    for want in &expect.fields {
        let Some(field) = spec.entity(&want.entity).and_then(|e| e.field(&want.name)) else {
            out.push(format!("missing field {}.{}", want.entity, want.name));
            continue;
        };
        let place = format!("{}.{}", want.entity, want.name);
        if field.field_type.as_str() != want.field_type {
            out.push(format!(
                "{place} is {}, expected {}",
                field.field_type.as_str(),
                want.field_type
            ));
        }
        if want.required.is_some_and(|r| r != field.required) {
            out.push(format!("{place} required is {}", field.required));
        }
        if want.unique.is_some_and(|u| u != field.unique) {
            out.push(format!("{place} unique is {}", field.unique));
        }
        if want.min.is_some() && want.min != field.min
            || want.max.is_some() && want.max != field.max
        {
            out.push(format!(
                "{place} bounds are {:?}..{:?}",
                field.min, field.max
            ));
        }
        if want.enum_values.is_some() && want.enum_values != field.enum_values {
            out.push(format!("{place} values are {:?}", field.enum_values));
        }
    }
    for want in &expect.relations {
        let kind = kind_of(&want.kind);
        let found = spec.relations.iter().any(|r| {
            r.kind == kind
                && ((r.from == want.from && r.to == want.to)
                    || (kind == RelationKind::ManyToMany && r.from == want.to && r.to == want.from))
        });
        if !found {
            out.push(format!(
                "missing relation {} {} -> {}",
                want.kind, want.from, want.to
            ));
        }
    }
    if let Some(auth) = expect.auth {
        if spec.auth.enabled != auth {
            out.push(format!("auth is {}", spec.auth.enabled));
        }
    }
    if let Some(roles) = &expect.roles {
        if &spec.auth.roles != roles {
            out.push(format!("roles are {:?}", spec.auth.roles));
        }
    }
    out
}

#[test]
fn fixtures_are_well_formed() {
    let all = fixtures();
    assert!(all.len() >= 18, "at least 18 fixtures, found {}", all.len());
    for public in PUBLIC_PROMPTS {
        assert!(
            all.iter().any(|f| f.prompt == public),
            "public prompt missing: {public}"
        );
    }
    let mut ids: Vec<&str> = all.iter().map(|f| f.id.as_str()).collect();
    assert!(
        ids.iter()
            .all(|id| codebegen_schema::names::is_snake_case(id)),
        "ids are snake_case"
    );
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "ids are unique");
}

#[test]
fn every_fixture_extracts_as_expected() {
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let extraction = extract(&fixture.prompt);
        let validation = check(&extraction.spec);
        if has_errors(&validation.diagnostics) {
            failures.push(format!(
                "{}: validation errors {:?}",
                fixture.id, validation.diagnostics
            ));
            continue;
        }
        let Some(checked) = validation.spec else {
            failures.push(format!("{}: no checked spec", fixture.id));
            continue;
        };
        for problem in mismatches(checked.spec(), &fixture.expect) {
            failures.push(format!("{}: {problem}", fixture.id));
        }
        if extraction
            .diagnostics
            .iter()
            .any(|d| d.code == "extraction_simplified" || d.code == "not_understood")
        {
            failures.push(format!("{}: fell back to a minimal spec", fixture.id));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn descriptions_are_the_first_sentence() {
    let extraction = extract(PUBLIC_PROMPTS[0]);
    assert_eq!(
        extraction.spec.description,
        "A bookstore API: books have a title, isbn, price and publication date, and belong to a publisher."
    );
    assert_eq!(extract(PUBLIC_PROMPTS[3]).spec.description, "url shortener");
    assert!(
        extract(&"word ".repeat(100))
            .spec
            .description
            .chars()
            .count()
            <= 200
    );
}
