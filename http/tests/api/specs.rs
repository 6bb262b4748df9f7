//! `POST /specs`: a prompt read into a spec without a generation, a follow-up applied to a
//! generation's spec, and the usual answers to bad input, strangers and missing tokens.

use codebegen_pipeline::extract::extract;
use codebegen_schema::generation::GenerationStatus;
use serde_json::{json, Value};

use crate::common::{app, assert_error, body_json, record};

const PATH: &str = "/api/v1/specs";

fn entity_names(body: &Value) -> Vec<&str> {
    body["spec"]["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect()
}

#[tokio::test]
async fn a_prompt_is_read_into_a_checked_spec_without_a_generation() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let response = app
        .post_json(
            PATH,
            json!({"prompt": "A blog: posts have a title and a body. Users sign up and log in."}),
            Some(&ada),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    let body = body_json(&response);
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");
    let names = entity_names(&body);
    assert!(
        names.contains(&"Post") && names.contains(&"User"),
        "{names:?}"
    );
    assert_eq!(body["spec"]["auth"]["enabled"], true);
    let diagnostics = body["diagnostics"].as_array().expect("diagnostics");
    assert!(diagnostics
        .iter()
        .all(|d| d["severity"].is_string() && d["code"].is_string() && d["message"].is_string()));
    codebegen_schema::check_value(&body["spec"])
        .spec
        .expect("the spec validates as it is, ready to post to /generations");

    let listed = body_json(&app.get("/api/v1/generations", &ada).await);
    assert_eq!(listed["items"], json!([]), "no generation was created");
}

#[tokio::test]
async fn bad_input_is_the_usual_error() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    for body in [
        json!({}),
        json!({"prompt": ""}),
        json!({"prompt": "   "}),
        json!({"prompt": "x".repeat(8001)}),
        json!({"prompt": "a blog", "spec": {}}),
        json!({"prompt": 7}),
        json!({"prompt": "a blog", "parent_id": "not-a-uuid"}),
    ] {
        assert_error(
            &app.post_json(PATH, body.clone(), Some(&ada)).await,
            422,
            "invalid_input",
        );
    }
    let malformed = warp::test::request()
        .method("POST")
        .path(PATH)
        .header("authorization", ada.bearer())
        .header("content-type", "application/json")
        .body("{\"prompt\": ");
    assert_error(&app.send(malformed).await, 400, "bad_request");
    let text = warp::test::request()
        .method("POST")
        .path(PATH)
        .header("authorization", ada.bearer())
        .header("content-type", "text/plain")
        .body("a blog");
    assert_error(&app.send(text).await, 415, "unsupported_media_type");
    assert_error(
        &app.send(
            warp::test::request()
                .path(PATH)
                .header("authorization", ada.bearer()),
        )
        .await,
        405,
        "bad_request",
    );
}

#[tokio::test]
async fn a_follow_up_refines_an_own_generations_spec() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let bob = app.session("bob@example.com").await;
    let mut parent = record(ada.id, GenerationStatus::Completed, 1_000);
    parent.spec = Some(extract("A blog: posts have a title and a body.").spec);
    let mut pending = record(ada.id, GenerationStatus::Queued, 2_000);
    pending.spec = None;
    let mut bobs = record(bob.id, GenerationStatus::Completed, 3_000);
    bobs.spec = parent.spec.clone();
    for r in [&parent, &pending, &bobs] {
        app.put_generation(r).await;
    }

    let follow_up = "rename Post to Article";
    let response = app
        .post_json(
            PATH,
            json!({"prompt": follow_up, "parent_id": parent.id}),
            Some(&ada),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    let body = body_json(&response);
    let names = entity_names(&body);
    assert!(
        names.contains(&"Article") && !names.contains(&"Post"),
        "{names:?}"
    );
    let read_alone = body_json(
        &app.post_json(PATH, json!({"prompt": follow_up}), Some(&ada))
            .await,
    );
    assert_ne!(
        read_alone["spec"], body["spec"],
        "the parent's spec was used"
    );

    for (parent_id, who, status, code) in [
        (bobs.id.to_string(), &ada, 404, "not_found"),
        (uuid::Uuid::new_v4().to_string(), &ada, 404, "not_found"),
        (parent.id.to_string(), &bob, 404, "not_found"),
        (pending.id.to_string(), &ada, 409, "conflict"),
    ] {
        assert_error(
            &app.post_json(
                PATH,
                json!({"prompt": follow_up, "parent_id": parent_id}),
                Some(who),
            )
            .await,
            status,
            code,
        );
    }
}

#[tokio::test]
async fn a_token_is_required() {
    let app = app().await;
    assert_error(
        &app.post_json(PATH, json!({"prompt": "a blog"}), None).await,
        401,
        "unauthorized",
    );
    let bad = warp::test::request()
        .method("POST")
        .path(PATH)
        .header("authorization", "Bearer nope")
        .json(&json!({"prompt": "a blog"}));
    assert_error(&app.send(bad).await, 401, "unauthorized");
}
