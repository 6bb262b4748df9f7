//! The conformance suite against the in-memory stores.

use codebegen_store::{conformance, MemoryArtifactStore, MemoryStore};

#[tokio::test]
async fn memory_user_store_conforms() {
    conformance::user_store(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_project_store_conforms() {
    conformance::project_store(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_generation_store_conforms() {
    conformance::generation_store(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_store_detaches_generations_of_deleted_projects() {
    let store = MemoryStore::new();
    conformance::detached_generations(&store, &store).await;
}

#[tokio::test]
async fn memory_artifact_store_conforms() {
    conformance::artifact_store(&MemoryArtifactStore::new()).await;
}

#[tokio::test]
async fn memory_lease_store_conforms() {
    conformance::lease_store(&MemoryStore::new()).await;
}
