//! Hybrid extraction never scores worse than the rules alone on the fixture prompts, whatever
//! the model proposes: scripted proposers stand in for the model here — one that echoes the
//! rules, one that proposes every word of the prompt as data, one that proposes the very
//! entities each fixture says must be absent, and random proposals built from prompt words.
//! (`actors/tests/llm_real.rs` measures the same with the real SmolLM2.)

#[path = "support/fixture_score.rs"]
mod fixture_score;

use codebegen_pipeline::assist::proposal::{
    ProposedEntity, ProposedField, ProposedRelation, PROPOSAL_FIELD_TYPES,
};
use codebegen_pipeline::assist::{merge, parse_proposal, Proposal};
use codebegen_pipeline::extract::extract;
use codebegen_schema::names::words;
use codebegen_schema::{check, AppSpec};
use fixture_score::{fixtures, score, Fixture};
use proptest::prelude::*;

fn entity(name: &str, fields: Vec<(String, String)>) -> ProposedEntity {
    ProposedEntity {
        name: name.into(),
        fields: fields
            .into_iter()
            .map(|(name, field_type)| ProposedField { name, field_type })
            .collect(),
    }
}

/// The rules' own spec, in the proposal shape.
fn echo(spec: &AppSpec) -> Proposal {
    Proposal {
        entities: spec
            .entities
            .iter()
            .map(|e| {
                entity(
                    &e.name,
                    e.fields
                        .iter()
                        .map(|f| (f.name.clone(), f.field_type.as_str().to_string()))
                        .collect(),
                )
            })
            .collect(),
        relations: spec
            .relations
            .iter()
            .map(|r| ProposedRelation {
                kind: serde_json::to_value(r.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                from: r.from.clone(),
                to: r.to.clone(),
            })
            .collect(),
    }
}

/// Every word of the prompt as an entity, with the next words as fields of rotating types,
/// and relations between neighbours.
fn every_word(prompt: &str) -> Proposal {
    let ws = words(prompt);
    let entities: Vec<ProposedEntity> = ws
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let fields = ws
                .iter()
                .skip(i + 1)
                .take(3)
                .enumerate()
                .map(|(k, f)| {
                    (
                        f.clone(),
                        PROPOSAL_FIELD_TYPES[(i + k) % PROPOSAL_FIELD_TYPES.len()].to_string(),
                    )
                })
                .collect();
            entity(w, fields)
        })
        .collect();
    let relations = ws
        .windows(2)
        .enumerate()
        .map(|(i, pair)| ProposedRelation {
            kind: ["many_to_one", "many_to_many", "one_to_one"][i % 3].into(),
            from: pair[0].clone(),
            to: pair[1].clone(),
        })
        .collect();
    Proposal {
        entities,
        relations,
    }
}

/// The entities the fixture says must not exist, plus junk names, types and references.
fn forbidden(fixture: &Fixture) -> Proposal {
    let mut entities: Vec<ProposedEntity> = fixture
        .expect
        .absent
        .iter()
        .map(|name| {
            entity(
                name,
                vec![
                    ("name".into(), "string".into()),
                    ("title".into(), "text".into()),
                ],
            )
        })
        .collect();
    for junk in [
        "",
        "  ",
        "Api",
        "App",
        "User",
        "Role",
        "Admin",
        "123abc",
        "a-b-c-d-e",
        "Élan",
        "x".repeat(80).as_str(),
    ] {
        entities.push(entity(
            junk,
            vec![
                ("id".into(), "uuid".into()),
                ("bogus".into(), "pointer".into()),
            ],
        ));
    }
    let mut relations: Vec<ProposedRelation> = fixture
        .expect
        .entities
        .iter()
        .zip(
            fixture
                .expect
                .absent
                .iter()
                .chain(["Nowhere".to_string()].iter()),
        )
        .map(|(from, to)| ProposedRelation {
            kind: "many_to_one".into(),
            from: from.clone(),
            to: to.clone(),
        })
        .collect();
    relations.push(ProposedRelation {
        kind: "sideways".into(),
        from: "A".into(),
        to: "B".into(),
    });
    Proposal {
        entities,
        relations,
    }
}

/// Checks hybrid ≥ rules for one proposal; returns (rules, hybrid) points.
fn compare(fixture: &Fixture, proposal: &Proposal, label: &str) -> (usize, usize) {
    let rules = extract(&fixture.prompt);
    let hybrid = merge(&fixture.prompt, &rules, proposal);
    assert!(
        check(&hybrid.spec).spec.is_some(),
        "{} ({label}): the hybrid spec validates",
        fixture.id
    );
    let (rules_met, total) = score(&rules.spec, &fixture.expect);
    let (hybrid_met, _) = score(&hybrid.spec, &fixture.expect);
    assert!(
        hybrid_met >= rules_met,
        "{} ({label}): hybrid {hybrid_met}/{total} < rules {rules_met}/{total}; added: {:?}",
        fixture.id,
        hybrid
            .diagnostics
            .iter()
            .filter(|d| d.code.starts_with("model_added"))
            .map(|d| d.message.as_str())
            .collect::<Vec<_>>()
    );
    (rules_met, hybrid_met)
}

#[test]
fn hybrid_never_scores_below_the_rules_with_scripted_proposers() {
    let mut totals = [(0usize, 0usize); 3];
    let mut points = 0;
    for fixture in fixtures() {
        let rules = extract(&fixture.prompt);
        points += score(&rules.spec, &fixture.expect).1;
        let echoed = merge(&fixture.prompt, &rules, &echo(&rules.spec));
        assert_eq!(
            echoed.spec, rules.spec,
            "{}: echoing the rules changes nothing",
            fixture.id
        );
        for (slot, (label, proposal)) in [
            ("echo", echo(&rules.spec)),
            ("every word", every_word(&fixture.prompt)),
            ("forbidden", forbidden(&fixture)),
        ]
        .into_iter()
        .enumerate()
        {
            let (r, h) = compare(&fixture, &proposal, label);
            totals[slot].0 += r;
            totals[slot].1 += h;
        }
    }
    println!("fixture points: {points}; rules vs hybrid (echo, every word, forbidden): {totals:?}");
    assert!(totals.iter().all(|(r, h)| h >= r));
}

#[test]
fn proposals_as_text_from_a_junk_model_never_hurt() {
    let texts = [
        "",
        "I am a language model.",
        "{\"entities\":[{\"name\":\"Api\",\"fields\":[]}],\"relations\":[]}",
        "{\"entities\":[{\"name\":\"Thing\",\"fields\":[{\"name\":\"x\",\"type\":\"string\"}]},{\"na",
        "[[[[",
    ];
    for fixture in fixtures() {
        for text in texts {
            let (proposal, _) = parse_proposal(text);
            compare(&fixture, &proposal, text);
        }
    }
}

fn random_proposal(prompt_words: Vec<String>) -> impl Strategy<Value = Proposal> {
    let n = prompt_words.len().max(1);
    let pick = move |i: usize| prompt_words.get(i % n).cloned().unwrap_or_default();
    let pick2 = pick.clone();
    let entity_strategy = (
        0..n,
        proptest::collection::vec((0..n, 0..PROPOSAL_FIELD_TYPES.len() + 2), 0..6),
    )
        .prop_map(move |(name, fields)| {
            let name = pick(name);
            let mut name_chars = name.chars();
            let pascal = name_chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + name_chars.as_str())
                .unwrap_or_default();
            let fields = fields
                .into_iter()
                .map(|(f, t)| {
                    let field_type = PROPOSAL_FIELD_TYPES
                        .get(t)
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| ["enum", "json"][t % 2].to_string());
                    (pick(f), field_type)
                })
                .collect();
            entity(&pascal, fields)
        });
    let relation_strategy = (0usize..4, 0..n, 0..n).prop_map(move |(k, a, b)| ProposedRelation {
        kind: ["many_to_one", "many_to_many", "one_to_one", "other"][k].into(),
        from: pick2(a),
        to: pick2(b),
    });
    (
        proptest::collection::vec(entity_strategy, 0..8),
        proptest::collection::vec(relation_strategy, 0..8),
    )
        .prop_map(|(entities, relations)| Proposal {
            entities,
            relations,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random proposals made of the prompt's own words: still never below the rules.
    #[test]
    fn random_prompt_word_proposals_never_hurt(
        (index, proposal) in (0usize..24).prop_flat_map(|i| {
            let all = fixtures();
            let fixture = &all[i % all.len()];
            (Just(i % all.len()), random_proposal(words(&fixture.prompt)))
        })
    ) {
        let all = fixtures();
        compare(&all[index], &proposal, "random");
    }
}
