//! The error shape on every kind of bad request: 400, 404, 405, 413, 415, 422.

use serde_json::json;

use crate::common::{app, assert_error};

#[tokio::test]
async fn bodies_over_64_kib_are_413() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let big = json!({ "name": "x", "description": "y".repeat(65 * 1024) });
    assert_error(
        &app.post_json("/api/v1/projects", big, Some(&ada)).await,
        413,
        "payload_too_large",
    );
    let register = warp::test::request()
        .method("POST")
        .path("/api/v1/auth/register")
        .header("content-type", "application/json")
        .body(vec![b' '; 65 * 1024]);
    assert_error(&app.send(register).await, 413, "payload_too_large");
}

#[tokio::test]
async fn non_json_bodies_are_415() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let request = warp::test::request()
        .method("POST")
        .path("/api/v1/projects")
        .header("authorization", ada.bearer())
        .header("content-type", "text/plain")
        .body(r#"{"name":"x"}"#);
    assert_error(&app.send(request).await, 415, "unsupported_media_type");
    let no_type = warp::test::request()
        .method("POST")
        .path("/api/v1/auth/login")
        .body(r#"{}"#);
    assert_error(&app.send(no_type).await, 415, "unsupported_media_type");
}

#[tokio::test]
async fn malformed_json_is_400_and_misshapen_json_is_422() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let malformed = warp::test::request()
        .method("POST")
        .path("/api/v1/projects")
        .header("authorization", ada.bearer())
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"name": "x""#);
    assert_error(&app.send(malformed).await, 400, "bad_request");
    let unknown = json!({ "name": "x", "colour": "blue" });
    assert_error(
        &app.post_json("/api/v1/projects", unknown, Some(&ada)).await,
        422,
        "invalid_input",
    );
    let unknown_login =
        json!({ "email": "ada@example.com", "password": "password123", "remember": true });
    assert_error(
        &app.post_json("/api/v1/auth/login", unknown_login, None)
            .await,
        422,
        "invalid_input",
    );
    let wrong_type = json!({ "name": 5 });
    assert_error(
        &app.post_json("/api/v1/projects", wrong_type, Some(&ada))
            .await,
        422,
        "invalid_input",
    );
}

#[tokio::test]
async fn generation_requests_are_validated_at_the_edge() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let post = |body| app.post_json("/api/v1/generations", body, Some(&ada));
    assert_error(
        &post(json!({ "prompt": "x".repeat(8001) })).await,
        422,
        "invalid_input",
    );
    assert_error(&post(json!({ "prompt": "" })).await, 422, "invalid_input");
    assert_error(&post(json!({})).await, 422, "invalid_input");
    assert_error(
        &post(json!({ "prompt": "a", "spec": { "version": 1 } })).await,
        422,
        "invalid_input",
    );
    assert_error(
        &post(json!({ "spec": { "version": 1 } })).await,
        422,
        "invalid_input",
    );
    assert_error(
        &post(json!({ "prompt": "a", "temperature": 1 })).await,
        422,
        "invalid_input",
    );
    assert_error(
        &post(json!({ "prompt": "a", "options": { "db": "oracle" } })).await,
        422,
        "invalid_input",
    );
    let missing_parent = json!({ "prompt": "add tags", "parent_id": uuid::Uuid::new_v4() });
    assert_error(&post(missing_parent).await, 404, "not_found");
    let unauthenticated = app
        .post_json("/api/v1/generations", json!({ "prompt": "a" }), None)
        .await;
    assert_error(&unauthenticated, 401, "unauthorized");
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    assert_error(
        &app.send(warp::test::request().path("/api/v1/nothing-here"))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.send(warp::test::request().path("/")).await,
        404,
        "not_found",
    );
    assert_error(
        &app.get("/api/v1/generations/not-a-uuid", &ada).await,
        404,
        "not_found",
    );
    let put = app
        .send(warp::test::request().method("PUT").path("/api/v1/projects"))
        .await;
    assert_error(&put, 405, "bad_request");
    assert_eq!(
        put.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("POST, GET")
    );
    let get_login = app
        .send(warp::test::request().path("/api/v1/auth/login"))
        .await;
    assert_error(&get_login, 405, "bad_request");
}
