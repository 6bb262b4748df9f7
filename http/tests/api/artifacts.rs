//! Files, archive and diff read from artifacts put straight into the artifact store.

use bytes::Bytes;
use codebegen_pipeline::FileTree;
use codebegen_schema::generation::{GenerationRecord, GenerationStatus};
use serde_json::json;

use crate::common::{app, assert_error, body_json, body_text, record, App, Session};

fn tree(files: &[(&str, &str)]) -> FileTree {
    let mut tree = FileTree::new();
    for (path, content) in files {
        tree.insert(*path, *content);
    }
    tree
}

/// Writes what the package stage writes.
async fn package(app: &App, record: &GenerationRecord, tree: &FileTree, archive: &[u8]) {
    let prefix = format!("generations/{}", record.id);
    let artifacts = &app.stores.artifacts;
    for (path, content) in tree.iter() {
        artifacts
            .put(
                &format!("{prefix}/files/{path}"),
                Bytes::from(content.to_string()),
            )
            .await
            .expect("file");
    }
    let listing = serde_json::to_vec(&tree.listing()).expect("listing");
    artifacts
        .put(&format!("{prefix}/manifest.json"), Bytes::from(listing))
        .await
        .expect("manifest");
    artifacts
        .put(
            &format!("{prefix}/archive.zip"),
            Bytes::from(archive.to_vec()),
        )
        .await
        .expect("archive");
}

async fn completed(app: &App, session: &Session, files: &[(&str, &str)]) -> GenerationRecord {
    let mut record = record(session.id, GenerationStatus::Completed, 1_000);
    record.spec = Some(
        serde_json::from_value(json!({ "version": 1, "name": "blog_api", "entities": [] }))
            .expect("spec"),
    );
    app.put_generation(&record).await;
    package(app, &record, &tree(files), b"PK\x03\x04 not really a zip").await;
    record
}

#[tokio::test]
async fn files_are_listed_and_served() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let files = [("app/main.py", "print('hi')\n"), ("README.md", "# Blog\n")];
    let generation = completed(&app, &ada, &files).await;
    let base = format!("/api/v1/generations/{}", generation.id);

    let listing = body_json(&app.get(&format!("{base}/files"), &ada).await);
    assert_eq!(
        listing,
        serde_json::to_value(tree(&files).listing()).expect("json")
    );
    assert_eq!(listing[0]["path"], "README.md");
    assert_eq!(listing[1]["size"], 12);

    let main = app.get(&format!("{base}/files/app/main.py"), &ada).await;
    assert_eq!(main.status(), 200);
    assert_eq!(body_text(&main), "print('hi')\n");
    assert_eq!(
        main.headers()["content-type"],
        "text/x-python; charset=utf-8"
    );
    let readme = app.get(&format!("{base}/files/README.md"), &ada).await;
    assert_eq!(
        readme.headers()["content-type"],
        "text/markdown; charset=utf-8"
    );

    assert_error(
        &app.get(&format!("{base}/files/app/missing.py"), &ada).await,
        404,
        "not_found",
    );
    assert_error(
        &app.get(
            &format!("{base}/files/app/%2E%2E/%2E%2E/manifest.json"),
            &ada,
        )
        .await,
        422,
        "invalid_input",
    );
    assert_error(
        &app.get(&format!("{base}/files/..%2Fmanifest.json"), &ada)
            .await,
        422,
        "invalid_input",
    );
}

#[tokio::test]
async fn the_archive_is_a_named_zip_download() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let generation = completed(&app, &ada, &[("a.py", "x = 1\n")]).await;
    let archive = app
        .get(
            &format!("/api/v1/generations/{}/archive", generation.id),
            &ada,
        )
        .await;
    assert_eq!(archive.status(), 200);
    assert_eq!(archive.body().as_ref(), b"PK\x03\x04 not really a zip");
    assert_eq!(archive.headers()["content-type"], "application/zip");
    let short = &generation.id.0.simple().to_string()[..8];
    assert_eq!(
        archive.headers()["content-disposition"]
            .to_str()
            .expect("ascii"),
        format!("attachment; filename=\"blog_api-{short}.zip\"")
    );
}

#[tokio::test]
async fn nothing_to_download_before_completion_or_for_others() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let bob = app.session("bob@example.com").await;
    let running = record(ada.id, GenerationStatus::Running, 1_000);
    app.put_generation(&running).await;
    for suffix in ["files", "archive", "diff", "files/a.py"] {
        let path = format!("/api/v1/generations/{}/{suffix}", running.id);
        assert_error(&app.get(&path, &ada).await, 409, "conflict");
    }
    let done = completed(&app, &ada, &[("a.py", "x = 1\n")]).await;
    for suffix in ["files", "archive", "diff", "files/a.py"] {
        let path = format!("/api/v1/generations/{}/{suffix}", done.id);
        assert_error(&app.get(&path, &bob).await, 404, "not_found");
    }
}

#[tokio::test]
async fn diff_against_the_parent() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let parent = completed(
        &app,
        &ada,
        &[("a.py", "x = 1\ny = 2\n"), ("old.py", "gone\n")],
    )
    .await;
    let mut child = record(ada.id, GenerationStatus::Completed, 2_000);
    child.parent_id = Some(parent.id);
    app.put_generation(&child).await;
    package(
        &app,
        &child,
        &tree(&[("a.py", "x = 1\ny = 3\n"), ("new.py", "fresh\n")]),
        b"PK",
    )
    .await;

    let diff = app
        .get(&format!("/api/v1/generations/{}/diff", child.id), &ada)
        .await;
    assert_eq!(diff.status(), 200);
    assert_eq!(diff.headers()["content-type"], "text/plain; charset=utf-8");
    let text = body_text(&diff);
    assert!(
        text.contains("--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n+y = 3\n"),
        "{text}"
    );
    assert!(text.contains("--- a/old.py\n+++ /dev/null\n"), "{text}");
    assert!(text.contains("--- /dev/null\n+++ b/new.py\n"), "{text}");
    assert_error(
        &app.get(&format!("/api/v1/generations/{}/diff", parent.id), &ada)
            .await,
        404,
        "not_found",
    );
}
