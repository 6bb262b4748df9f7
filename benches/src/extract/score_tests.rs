//! The scorer's rules one by one, and the same figures as `spec_score.py` on specs built to hit
//! every rule (`benches/eval/spec_score.py` is a copy of `../shared/eval/spec_score.py`, kept
//! byte for byte the same by the test, so the comparison runs where only the repository is).

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

use super::*;

fn case(line: Value) -> Case {
    Case::parse(&line.to_string()).expect("a case")
}

fn check_norm(name: &str, expected: &str) {
    assert_eq!(norm(name), expected, "{name}");
}

#[test]
fn names_normalise_like_the_script() {
    check_norm("Categories", "category");
    check_norm("boxes", "box");
    check_norm("Churches", "church");
    check_norm("dishes", "dish");
    check_norm("Glasses", "glass");
    check_norm("Address", "address");
    check_norm("Status", "status");
    check_norm("OrderStatus", "orderstatus");
    check_norm("species", "species");
    check_norm("TV Series", "tvseries");
    check_norm("news", "news");
    check_norm("bus", "bus");
    check_norm("Ties", "tie");
    check_norm("pies", "pie");
    check_norm("Movies", "movy");
    check_norm("Shipment_Line", "shipmentline");
    check_norm("Ünits", "nit");
}

#[test]
fn fields_match_by_the_prefix_rule() {
    assert!(field_matches("publishedflag", "published"));
    assert!(field_matches("name", "names"));
    assert!(!field_matches("unitprice", "price"));
    assert!(!field_matches("agent", "age"));
    assert!(field_matches("age", "age"));
    assert!(!field_matches("", "a"));
}

#[test]
fn rounding_is_pythons() {
    assert_eq!(round3(0.0625), 0.062);
    assert_eq!(round3(2.0 / 3.0), 0.667);
    assert_eq!(round3(0.1875), 0.188);
    assert_eq!(ratio(1, 0), None);
    assert_eq!(ratio(3, 3), Some(1.0));
}

#[test]
fn a_renamed_entity_counts_for_its_base_and_the_auth_user_is_not_extra() {
    let gold = case(
        json!({"id": "gym", "prompt": "p", "entities": ["Class", "Member"],
        "relations": [["Class", "Member", "many_to_one"]],
        "fields": {"Class": ["start_time", "price"]},
        "field_types": {"Class": {"start_time": "datetime", "price": "decimal"}},
        "auth": true}),
    );
    let spec = json!({"entities": [
            {"name": "ClassRecord", "fields": [{"name": "start_time", "type": "date"},
                                               {"name": "unit_price", "type": "decimal"}]},
            {"name": "Members"}, {"name": "User"}],
        "relations": [{"kind": "many_to_one", "from": "ClassRecord", "to": "Member"}],
        "auth": {"enabled": true}});
    let s = score(&gold, &spec);
    assert_eq!(
        (s.ent_hit, s.ent_extra, s.rel_hit, s.rel_extra),
        (2, 0, 1, 0)
    );
    assert_eq!(
        (s.field_hit, s.missing_fields.clone()),
        (1, vec!["Class.price".to_string()])
    );
    assert_eq!((s.type_exp, s.type_hit), (1, 0));
    assert_eq!(s.auth_ok, Some(true));
}

#[test]
fn enum_values_are_found_on_the_matching_field_whatever_their_spelling() {
    let gold = case(json!({"id": "e", "prompt": "p", "entities": ["Issue"],
        "fields": {"Issue": ["status"]}, "field_types": {"Issue": {"status": "enum"}},
        "enums": {"Issue.status": ["open", "in progress", "closed"]}}));
    let spec = json!({"entities": [{"name": "Issue", "fields": [
        {"name": "status", "type": "enum", "enum_values": ["open", "in_progress"]}]}]});
    let s = score(&gold, &spec);
    assert_eq!((s.enum_exp, s.enum_hit), (3, 2));
    assert_eq!(s.missing_enum_values, ["Issue.status=closed"]);
    assert_eq!((s.type_exp, s.type_hit), (1, 1));
    let s = score(&gold, &json!({}));
    assert_eq!((s.enum_exp, s.enum_hit, s.field_hit), (3, 0, 0));
}

/// Cases and specs that exercise every rule of the script; `style` spreads them over styles and
/// one case has none.
fn parity_fixture() -> Vec<(Value, Option<Value>)> {
    vec![
        (
            json!({"id": "renamed", "prompt": "p", "split": "dev", "style": "verb_heavy",
                "entities": ["Member", "Trainer", "Class"],
                "relations": [["Class", "Trainer", "many_to_one"], ["Member", "Class", "many_to_many"]],
                "fields": {"Class": ["start_time", "capacity", "duration_minutes"], "Member": ["name"]}}),
            Some(json!({"entities": [
                    {"name": "ClassRecord", "fields": [{"name": "start_time"}, {"name": "capacity_max"},
                                                       {"name": "duration"}]},
                    {"name": "Members", "fields": [{"name": "names"}]}, {"name": "Trainer"},
                    {"name": "Gym"}],
                "relations": [{"kind": "many_to_one", "from": "ClassRecord", "to": "Trainer"},
                              {"kind": "many_to_many", "from": "ClassRecord", "to": "Member"},
                              {"kind": "many_to_one", "from": "Member", "to": "Trainer"},
                              {"kind": "many_to_one", "from": "Member", "to": "Gym"}]})),
        ),
        (
            json!({"id": "one-to-one", "prompt": "p", "split": "dev", "style": "one_to_one",
                "entities": ["Employee", "Badge", "Desk", "Locker"],
                "relations": [["Badge", "Employee", "one_to_one"], ["Desk", "Employee", "many_to_one"],
                              ["Locker", "Employee", "one_to_one"]],
                "fields": {"Badge": ["code"]}}),
            Some(
                json!({"entities": [{"name": "Employee"}, {"name": "Badge", "fields": [{"name": "code"}]},
                                     {"name": "Desk"}, {"name": "Locker"}],
                "relations": [{"kind": "one_to_one", "from": "Employee", "to": "Badge"},
                              {"kind": "one_to_one", "from": "Desk", "to": "Employee"},
                              {"kind": "one_to_one", "from": "Employee", "to": "Locker"}]}),
            ),
        ),
        (
            json!({"id": "one-to-many", "prompt": "p", "split": "test", "style": "narrative",
                "entities": ["Blog", "Post", "Category"],
                "relations": [["Post", "Blog", "many_to_one"], ["Blog", "Category", "one_to_many"]],
                "fields": {"Post": ["published", "price", "title"]}}),
            Some(json!({"entities": [{"name": "blogs"},
                    {"name": "posts", "fields": [{"name": "published_flag"}, {"name": "unit_price"},
                                                 {"name": "Title"}]},
                    {"name": "categories"}],
                "relationships": [{"type": "One-To-Many", "source": "Blog", "target": "Post"},
                                  {"type": "has_many", "source": "Category", "target": "Blog"}]})),
        ),
        (
            json!({"id": "plurals", "prompt": "p", "split": "test", "style": "narrative",
                "entities": ["Box", "Church", "Species", "Status", "Movie", "Address", "Dish", "Pie"],
                "relations": [["Box", "Church", "many_to_one"], ["Movie", "Species", "many_to_many"]],
                "fields": {"Box": ["size", "age"], "Dish": ["name"]}}),
            Some(
                json!({"entities": [{"name": "boxes", "fields": [{"name": "size"}, {"name": "agent"}]},
                    {"name": "Churches"}, {"name": "Species"}, {"name": "Statuses"},
                    {"name": "Movies"}, {"name": "Addresses"}, {"name": "dishes", "fields": [{"name": "name"}]},
                    {"name": "pies"},
                    {"name": null}],
                "relations": [{"kind": "many_to_one", "from": "boxes", "to": "Churches"},
                              {"kind": "manytomany", "from": "Movies", "to": "Species"},
                              {"kind": "m2m", "from": "Dish", "to": "Kitchen"}]}),
            ),
        ),
        (
            json!({"id": "auth-bool", "prompt": "p", "split": "dev", "style": "auth_roles",
                "entities": ["Post"], "relations": [["Post", "User", "many_to_one"]],
                "fields": {"User": ["email"]}, "auth": true}),
            Some(
                json!({"entities": [{"name": "User", "fields": [{"name": "email"}]}, {"name": "Post"}],
                "relations": [{"kind": "many_to_one", "from": "Post", "to": "User"}], "auth": true}),
            ),
        ),
        (
            json!({"id": "auth-missed", "prompt": "p", "split": "dev", "style": "auth_roles",
                "entities": ["Note"], "relations": [], "fields": {}, "auth": true}),
            Some(
                json!({"entities": [{"name": "Note"}, {"name": "User"}], "auth": {"enabled": false}}),
            ),
        ),
        (
            json!({"id": "no-spec", "prompt": "p", "split": "dev", "style": "terse",
                "entities": ["Link"], "relations": [], "fields": {"Link": ["url"]}, "auth": true}),
            None,
        ),
        (
            json!({"id": "no-style", "prompt": "p", "split": "dev",
                "entities": ["Team", "Player"], "relations": [["Player", "Team", "many_to_one"]],
                "fields": {}}),
            Some(
                json!({"entities": [{"name": "Teams"}, {"name": "Players"}, {"name": "Coach"}],
                "relations": [{"kind": "many_to_one", "from": "Team", "to": "Player"}],
                "auth": {"enabled": true}}),
            ),
        ),
    ]
}

/// The script to compare with: `CODEBEGEN_SPEC_SCORE`, else `../shared/eval/spec_score.py`
/// beside the repository when it is there (and then the copy in `benches/eval/` must be the
/// same file, so CI, which has only the copy, runs the current rules), else that copy.
fn spec_score_script() -> PathBuf {
    if let Some(path) = std::env::var_os("CODEBEGEN_SPEC_SCORE") {
        return PathBuf::from(path);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let copy = manifest.join("eval/spec_score.py");
    let shared = manifest.join("../../shared/eval/spec_score.py");
    if shared.is_file() {
        assert_eq!(
            std::fs::read(&shared).expect("read the shared script"),
            std::fs::read(&copy).expect("read the copy"),
            "{} changed: copy it to {} and follow its rules here",
            shared.display(),
            copy.display()
        );
        return shared;
    }
    copy
}

#[test]
fn figures_are_the_same_as_spec_score_py() {
    let script = spec_score_script();
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let fixture = parity_fixture();
    let dir = tempfile::tempdir().expect("temp dir");
    let cases_path = dir.path().join("cases.jsonl");
    let specs_path = dir.path().join("specs.jsonl");
    let out_path = dir.path().join("out.json");
    let line = |v: &Value| v.to_string() + "\n";
    let cases_text: String = fixture.iter().map(|(c, _)| line(c)).collect();
    let specs_text: String = fixture
        .iter()
        .filter_map(|(c, s)| s.as_ref().map(|s| line(&json!({"id": c["id"], "spec": s}))))
        .collect();
    std::fs::write(&cases_path, cases_text).expect("write cases");
    std::fs::write(&specs_path, specs_text).expect("write specs");

    for split in [None, Some("dev")] {
        let mut command = Command::new("python3");
        command
            .arg(&script)
            .args(["--specs", &specs_path.display().to_string()])
            .args(["--cases", &cases_path.display().to_string()])
            .args(["--json", &out_path.display().to_string()]);
        if let Some(split) = split {
            command.args(["--split", split]);
        }
        let output = command.output().expect("run spec_score.py");
        assert!(
            output.status.success(),
            "spec_score.py failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let python: Value = serde_json::from_str(
            &std::fs::read_to_string(&out_path).expect("spec_score.py wrote its JSON"),
        )
        .expect("JSON");

        let scores: Vec<CaseScore> = fixture
            .iter()
            .map(|(c, s)| (case(c.clone()), s.clone().unwrap_or_else(|| json!({}))))
            .filter(|(c, _)| split.is_none_or(|want| c.split.as_deref() == Some(want)))
            .map(|(c, s)| score(&c, &s))
            .collect();
        let ours = json!({
            "summary": summarize(&scores),
            "by_style": by_style(&scores),
            "cases": scores,
        });
        assert_same_keys(&python["summary"], &ours["summary"], "summary");
        let styles = python["by_style"].as_object().expect("by_style");
        assert_eq!(
            styles.len(),
            ours["by_style"].as_object().map_or(0, |o| o.len())
        );
        for (style, summary) in styles {
            assert_same_keys(summary, &ours["by_style"][style], style);
        }
        let cases = python["cases"].as_array().expect("cases");
        assert_eq!(cases.len(), scores.len());
        for (theirs, ours) in cases.iter().zip(ours["cases"].as_array().expect("cases")) {
            assert_same_keys(theirs, ours, &theirs["id"].to_string());
        }
    }
}

/// Every key the script wrote has the same value in ours.
fn assert_same_keys(python: &Value, ours: &Value, what: &str) {
    let keys = python.as_object().expect("an object");
    assert!(!keys.is_empty(), "{what}: nothing to compare");
    for (key, value) in keys {
        assert_eq!(&ours[key], value, "{what}: `{key}` differs");
    }
}
