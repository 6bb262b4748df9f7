//! Listing, reading and cancelling generations put straight into the store.

use codebegen_schema::generation::{GenerationStatus, ProjectId, ProjectRecord};
use serde_json::json;

use crate::common::{app, assert_error, body_json, record};

#[tokio::test]
async fn own_generations_newest_first_with_filters_and_pages() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let bob = app.session("bob@example.com").await;
    let project = ProjectRecord {
        id: ProjectId(uuid::Uuid::new_v4()),
        user_id: ada.id,
        name: "p".into(),
        description: String::new(),
        created_at: 1,
    };
    app.stores
        .projects
        .create_project(&project)
        .await
        .expect("project");
    let old = record(ada.id, GenerationStatus::Completed, 1_000);
    let mut new = record(ada.id, GenerationStatus::Running, 2_000);
    new.project_id = Some(project.id);
    let bobs = record(bob.id, GenerationStatus::Queued, 3_000);
    for r in [&old, &new, &bobs] {
        app.put_generation(r).await;
    }

    let listed = body_json(&app.get("/api/v1/generations", &ada).await);
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|g| g["id"].as_str())
        .collect();
    assert_eq!(ids, [new.id.to_string(), old.id.to_string()]);
    assert!(listed["next_cursor"].is_null());

    let filtered = body_json(
        &app.get(
            &format!("/api/v1/generations?project_id={}", project.id),
            &ada,
        )
        .await,
    );
    assert_eq!(filtered["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(filtered["items"][0]["id"], new.id.to_string());

    let first = body_json(&app.get("/api/v1/generations?limit=1", &ada).await);
    let cursor = first["next_cursor"].as_str().expect("cursor");
    let second = body_json(
        &app.get(
            &format!("/api/v1/generations?limit=1&cursor={cursor}"),
            &ada,
        )
        .await,
    );
    assert_eq!(second["items"][0]["id"], old.id.to_string());

    assert_error(
        &app.get("/api/v1/generations?project_id=nope", &ada).await,
        422,
        "invalid_input",
    );
    assert_error(
        &app.get("/api/v1/generations?limit=101", &ada).await,
        422,
        "invalid_input",
    );

    let one = app
        .get(&format!("/api/v1/generations/{}", old.id), &ada)
        .await;
    assert_eq!(one.status(), 200);
    assert_eq!(body_json(&one), serde_json::to_value(&old).expect("json"));
    assert_error(
        &app.get(&format!("/api/v1/generations/{}", bobs.id), &ada)
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.get(
            &format!("/api/v1/generations/{}", uuid::Uuid::new_v4()),
            &ada,
        )
        .await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn cancelling_is_404_for_others_and_409_once_final() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let bob = app.session("bob@example.com").await;
    let done = record(ada.id, GenerationStatus::Completed, 1_000);
    let running = record(ada.id, GenerationStatus::Running, 2_000);
    app.put_generation(&done).await;
    app.put_generation(&running).await;

    let done_path = format!("/api/v1/generations/{}/cancel", done.id);
    assert_error(
        &app.post_json(&done_path, json!({}), Some(&ada)).await,
        409,
        "conflict",
    );
    let running_path = format!("/api/v1/generations/{}/cancel", running.id);
    assert_error(
        &app.post_json(&running_path, json!({}), Some(&bob)).await,
        404,
        "not_found",
    );
}
