//! The conformance suite against [`SqliteStore`], each test on a fresh file, plus one run of the
//! whole suite twice on the same file (the suite must not depend on an empty store).

use codebegen_store::{conformance, SqliteStore};

fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(dir.path().join("nested/dir/codebegen.db"))
        .expect("open a fresh database");
    (dir, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_user_store_conforms() {
    let (_dir, store) = fresh();
    conformance::user_store(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_project_store_conforms() {
    let (_dir, store) = fresh();
    conformance::project_store(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_generation_store_conforms() {
    let (_dir, store) = fresh();
    conformance::generation_store(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_detaches_generations_of_deleted_projects() {
    let (_dir, store) = fresh();
    conformance::detached_generations(&store, &store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_lease_store_conforms() {
    let (_dir, store) = fresh();
    conformance::lease_store(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_suite_passes_twice_on_one_file_and_after_reopening() {
    let (dir, store) = fresh();
    for _ in 0..2 {
        conformance::user_store(&store).await;
        conformance::project_store(&store).await;
        conformance::generation_store(&store).await;
    }
    let path = store.path().to_path_buf();
    drop(store);
    let reopened = SqliteStore::open(&path).expect("reopen");
    conformance::user_store(&reopened).await;
    conformance::project_store(&reopened).await;
    conformance::generation_store(&reopened).await;
    drop(dir);
}
