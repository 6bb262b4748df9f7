//! Projects CRUD and ownership.

use serde_json::json;

use crate::common::{app, assert_error, body_json};

#[tokio::test]
async fn projects_crud_and_paging() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let mut ids = Vec::new();
    for name in ["first", "second", "third"] {
        let created = app
            .post_json(
                "/api/v1/projects",
                json!({ "name": name, "description": "d" }),
                Some(&ada),
            )
            .await;
        assert_eq!(created.status(), 201);
        let project = body_json(&created);
        assert_eq!(project["name"], name);
        assert_eq!(project["user_id"], ada.id.to_string());
        ids.push(project["id"].as_str().expect("id").to_string());
    }

    let listed = body_json(&app.get("/api/v1/projects", &ada).await);
    let names: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["third", "second", "first"]);
    assert!(listed["next_cursor"].is_null());

    let page = body_json(&app.get("/api/v1/projects?limit=2", &ada).await);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    let cursor = page["next_cursor"].as_str().expect("cursor");
    let rest = body_json(
        &app.get(&format!("/api/v1/projects?limit=2&cursor={cursor}"), &ada)
            .await,
    );
    assert_eq!(rest["items"][0]["name"], "first");
    assert!(rest["next_cursor"].is_null());
    assert_error(
        &app.get("/api/v1/projects?limit=0", &ada).await,
        422,
        "invalid_input",
    );
    assert_error(
        &app.get("/api/v1/projects?cursor=zzz", &ada).await,
        422,
        "invalid_input",
    );
    assert_error(
        &app.get("/api/v1/projects?limit=abc", &ada).await,
        400,
        "bad_request",
    );

    let one = app.get(&format!("/api/v1/projects/{}", ids[0]), &ada).await;
    assert_eq!(body_json(&one)["name"], "first");

    let delete = warp::test::request()
        .method("DELETE")
        .path(&format!("/api/v1/projects/{}", ids[0]))
        .header("authorization", ada.bearer());
    let deleted = app.send(delete).await;
    assert_eq!(deleted.status(), 204);
    assert_error(
        &app.get(&format!("/api/v1/projects/{}", ids[0]), &ada).await,
        404,
        "not_found",
    );

    assert_error(
        &app.post_json("/api/v1/projects", json!({ "name": " " }), Some(&ada))
            .await,
        422,
        "invalid_input",
    );
    let defaulted = app
        .post_json("/api/v1/projects", json!({ "name": "bare" }), Some(&ada))
        .await;
    assert_eq!(body_json(&defaulted)["description"], "");
}

#[tokio::test]
async fn another_users_project_is_404() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let bob = app.session("bob@example.com").await;
    let created = app
        .post_json("/api/v1/projects", json!({ "name": "mine" }), Some(&ada))
        .await;
    let id = body_json(&created)["id"].as_str().expect("id").to_string();

    assert_error(
        &app.get(&format!("/api/v1/projects/{id}"), &bob).await,
        404,
        "not_found",
    );
    let delete = warp::test::request()
        .method("DELETE")
        .path(&format!("/api/v1/projects/{id}"))
        .header("authorization", bob.bearer());
    assert_error(&app.send(delete).await, 404, "not_found");
    let listed = body_json(&app.get("/api/v1/projects", &bob).await);
    assert_eq!(listed["items"], json!([]));
    // Bob cannot start a generation in Ada's project either.
    let generation = app
        .post_json(
            "/api/v1/generations",
            json!({ "prompt": "a blog", "project_id": id }),
            Some(&bob),
        )
        .await;
    assert_error(&generation, 404, "not_found");
    assert_eq!(
        app.get(&format!("/api/v1/projects/{id}"), &ada)
            .await
            .status(),
        200
    );
}
