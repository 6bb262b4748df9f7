//! The conformance suite against [`FsArtifactStore`].

use codebegen_store::{conformance, FsArtifactStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_artifact_store_conforms() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store =
        FsArtifactStore::open(dir.path().join("artifacts")).expect("open the artifact directory");
    conformance::artifact_store(&store).await;
    // Twice on the same directory: the suite must not depend on an empty store.
    conformance::artifact_store(&store).await;
}
