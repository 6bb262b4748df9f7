//! Register, login, refresh rotation with reuse detection, logout and me.

use serde_json::json;

use crate::common::{app, assert_error, body_json, App};

async fn refresh(app: &App, token: &str) -> warp::http::Response<bytes::Bytes> {
    app.post_json(
        "/api/v1/auth/refresh",
        json!({ "refresh_token": token }),
        None,
    )
    .await
}

#[tokio::test]
async fn register_login_and_me() {
    let app = app().await;
    let registered = app.register("Ada@Example.com", "password123").await;
    assert_eq!(registered.status(), 201);
    let user = body_json(&registered);
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["tier"], "free");
    assert!(user["created_at"].is_i64());
    let mut keys: Vec<&str> = user
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["created_at", "email", "id", "tier"]);

    let login = app.login("ADA@example.com", "password123").await;
    assert_eq!(login.status(), 200);
    let tokens = body_json(&login);
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 1800);
    let access = tokens["access_token"].as_str().expect("access token");
    assert_eq!(access.split('.').count(), 3);
    assert!(tokens["refresh_token"]
        .as_str()
        .is_some_and(|t| t.len() == 43));

    let me = app
        .send(
            warp::test::request()
                .path("/api/v1/auth/me")
                .header("authorization", format!("Bearer {access}")),
        )
        .await;
    assert_eq!(me.status(), 200);
    assert_eq!(body_json(&me), user);
}

#[tokio::test]
async fn registration_rules() {
    let app = app().await;
    assert_eq!(
        app.register("ada@example.com", "password123")
            .await
            .status(),
        201
    );
    assert_error(
        &app.register("ADA@example.com", "another-pass").await,
        409,
        "conflict",
    );
    assert_error(
        &app.register("not-an-email", "password123").await,
        422,
        "invalid_input",
    );
    assert_error(
        &app.register("bob@example.com", "short").await,
        422,
        "invalid_input",
    );
    assert_error(
        &app.register("bob@example.com", &"x".repeat(129)).await,
        422,
        "invalid_input",
    );
    assert_eq!(
        app.register("bob@example.com", &"x".repeat(128))
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn bad_credentials_get_one_answer() {
    let app = app().await;
    app.session("ada@example.com").await;
    let wrong_password = app.login("ada@example.com", "wrong-password").await;
    let unknown_email = app.login("nobody@example.com", "password123").await;
    assert_error(&wrong_password, 401, "unauthorized");
    assert_error(&unknown_email, 401, "unauthorized");
    assert_eq!(body_json(&wrong_password), body_json(&unknown_email));
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = app().await;
    let session = app.session("ada@example.com").await;
    let first = session.refresh.clone();

    let rotated = refresh(&app, &first).await;
    assert_eq!(rotated.status(), 200);
    let second = body_json(&rotated)["refresh_token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_ne!(second, first);
    let access = body_json(&rotated)["access_token"]
        .as_str()
        .expect("access")
        .to_string();
    let me = app
        .send(
            warp::test::request()
                .path("/api/v1/auth/me")
                .header("authorization", format!("Bearer {access}")),
        )
        .await;
    assert_eq!(me.status(), 200);

    let third_response = refresh(&app, &second).await;
    assert_eq!(third_response.status(), 200);
    let third = body_json(&third_response)["refresh_token"]
        .as_str()
        .expect("token")
        .to_string();

    // Presenting the first token again is reuse: 401, and the family's newest token dies too.
    assert_error(&refresh(&app, &first).await, 401, "unauthorized");
    assert_error(&refresh(&app, &third).await, 401, "unauthorized");

    // Another login starts a fresh family.
    let login = body_json(&app.login("ada@example.com", "password123").await);
    let fresh = login["refresh_token"].as_str().expect("token");
    assert_eq!(refresh(&app, fresh).await.status(), 200);
    assert_error(&refresh(&app, "not-a-token").await, 401, "unauthorized");
}

#[tokio::test]
async fn logout_revokes_the_family() {
    let app = app().await;
    let session = app.session("ada@example.com").await;
    let rotated = body_json(&refresh(&app, &session.refresh).await);
    let newest = rotated["refresh_token"].as_str().expect("token");

    let logout = app
        .post_json(
            "/api/v1/auth/logout",
            json!({ "refresh_token": newest }),
            None,
        )
        .await;
    assert_eq!(logout.status(), 204);
    assert!(logout.body().is_empty());
    assert_error(&refresh(&app, newest).await, 401, "unauthorized");
    // Logging out twice, or with a token never issued, is still fine.
    let again = app
        .post_json(
            "/api/v1/auth/logout",
            json!({ "refresh_token": newest }),
            None,
        )
        .await;
    assert_eq!(again.status(), 204);
    let unknown = app
        .post_json(
            "/api/v1/auth/logout",
            json!({ "refresh_token": "nope" }),
            None,
        )
        .await;
    assert_eq!(unknown.status(), 204);
}

#[tokio::test]
async fn protected_routes_need_a_valid_bearer_token() {
    let app = app().await;
    let session = app.session("ada@example.com").await;
    let me = |header: Option<String>| {
        let mut request = warp::test::request().path("/api/v1/auth/me");
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        app.send(request)
    };
    assert_error(&me(None).await, 401, "unauthorized");
    assert_error(
        &me(Some("Bearer garbage".into())).await,
        401,
        "unauthorized",
    );
    assert_error(
        &me(Some(format!("Basic {}", session.access))).await,
        401,
        "unauthorized",
    );
    assert_error(
        &me(Some(format!("Bearer {}x", session.access))).await,
        401,
        "unauthorized",
    );
    let foreign = codebegen_http::AuthConfig::new(b"another secret entirely, 32 bytes".to_vec());
    let forged = codebegen_http::auth::issue_access_token(&foreign, session.id, 1_900_000_000_000)
        .expect("sign");
    assert_error(
        &me(Some(format!("Bearer {forged}"))).await,
        401,
        "unauthorized",
    );
    let projects = app
        .send(warp::test::request().path("/api/v1/projects"))
        .await;
    assert_error(&projects, 401, "unauthorized");
    assert_eq!(me(Some(session.bearer())).await.status(), 200);
}
