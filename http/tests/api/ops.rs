//! Health, readiness, metrics and the OpenAPI document.

use crate::common::{app, body_json, body_text};

#[tokio::test]
async fn health_and_readiness() {
    let app = app().await;
    let health = app.send(warp::test::request().path("/healthz")).await;
    assert_eq!(
        (
            health.status().as_u16(),
            body_json(&health)["status"].as_str()
        ),
        (200, Some("ok"))
    );
    let ready = app.send(warp::test::request().path("/readyz")).await;
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = app().await;
    let path = format!("/api/v1/projects/{}", uuid::Uuid::new_v4());
    assert_eq!(
        app.send(warp::test::request().path(&path)).await.status(),
        401
    );
    app.send(warp::test::request().path("/no/such/route")).await;
    let metrics = app.send(warp::test::request().path("/metrics")).await;
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"]
        .to_str()
        .is_ok_and(|t| t.starts_with("text/plain")));
    let text = body_text(&metrics);
    let expected = r#"codebegen_http_requests_total{method="GET",route="/api/v1/projects/{id}",status="401"} 1"#;
    assert!(text.contains(expected), "{text}");
    assert!(
        text.contains(
            r#"codebegen_http_requests_total{method="GET",route="unmatched",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(
        r#"codebegen_http_request_duration_seconds_bucket{route="/api/v1/projects/{id}""#
    ));
    assert!(text.contains("codebegen_scheduler_queue_depth"));
    assert!(text.contains(r#"codebegen_actors_live{kind="worker"}"#));
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let app = app().await;
    let response = app
        .send(warp::test::request().path("/api/v1/openapi.json"))
        .await;
    assert_eq!(response.status(), 200);
    let doc = body_json(&response);
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, template) in codebegen_http::ROUTES {
        assert!(
            doc["paths"][*template][method.to_ascii_lowercase()].is_object(),
            "{method} {template}"
        );
    }
    assert!(doc["components"]["schemas"]["Error"].is_object());
    assert!(doc["components"]["schemas"]["AppSpec"].is_object());
}
