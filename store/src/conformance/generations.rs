//! Conformance checks for [`GenerationStore`] records: round trips, idempotent puts, listing by
//! user and project, unfinished generations and the rate-limit queries. Checkpoints and events
//! are in `events.rs`.

use super::{
    all_pages, full_generation, generation, generation_id, ok, project, project_id, user_id, T0,
};
use crate::{GenerationStore, ProjectStore};
use codebegen_schema::generation::{GenerationId, GenerationRecord, GenerationStatus, Stage};

/// Runs every [`GenerationStore`] check, checkpoints and events included.
pub async fn generation_store(s: &dyn GenerationStore) {
    round_trip(s).await;
    updates(s).await;
    listing(s).await;
    unfinished(s).await;
    created_since(s).await;
    super::events::checkpoints(s).await;
    super::events::events(s).await;
}

/// Deleting a project leaves its generations in place (and still findable by the user).
pub async fn detached_generations(projects: &dyn ProjectStore, generations: &dyn GenerationStore) {
    let owner = user_id();
    let record = project(owner, T0);
    ok(projects.create_project(&record).await, "create_project");
    let child = generation(owner, Some(record.id), T0 + 1);
    ok(generations.put_generation(&child).await, "put_generation");
    assert!(
        ok(projects.delete_project(record.id).await, "delete_project"),
        "delete_project must find the project"
    );
    assert_eq!(
        ok(
            generations.get_generation(child.id).await,
            "get_generation after deleting its project"
        ),
        Some(child.clone()),
        "deleting a project must leave its generations as they were"
    );
    let listed = ok(
        generations.list_generations(owner, None, 10, None).await,
        "list_generations after deleting a project",
    );
    assert_eq!(
        listed.items,
        vec![child],
        "a detached generation must still be listed for its user"
    );
}

async fn round_trip(s: &dyn GenerationStore) {
    let full = full_generation(user_id(), project_id(), T0);
    ok(
        s.put_generation(&full).await,
        "put_generation (fully populated)",
    );
    assert_eq!(
        ok(s.get_generation(full.id).await, "get_generation"),
        Some(full.clone()),
        "a fully populated record (spec, review, gates, error, options) must round-trip exactly"
    );
    let minimal = generation(user_id(), None, T0);
    ok(s.put_generation(&minimal).await, "put_generation (minimal)");
    assert_eq!(
        ok(s.get_generation(minimal.id).await, "get_generation"),
        Some(minimal),
        "a minimal record must round-trip"
    );
    assert_eq!(
        ok(
            s.get_generation(generation_id()).await,
            "get_generation (unknown)"
        ),
        None,
        "an unknown id must give None"
    );
}

async fn updates(s: &dyn GenerationStore) {
    let mut record = generation(user_id(), None, T0);
    ok(s.put_generation(&record).await, "put_generation");
    ok(
        s.put_generation(&record).await,
        "put_generation again with the same record (must be idempotent)",
    );
    assert_eq!(
        ok(s.get_generation(record.id).await, "get_generation"),
        Some(record.clone()),
        "an idempotent put must change nothing"
    );
    record.status = GenerationStatus::Running;
    record.stage = Some(Stage::Render);
    record.progress = 33;
    record.updated_at = T0 + 10;
    ok(s.put_generation(&record).await, "put_generation (update)");
    assert_eq!(
        ok(
            s.get_generation(record.id).await,
            "get_generation after update"
        ),
        Some(record.clone()),
        "put_generation must replace the record"
    );
    let listed = ok(
        s.list_generations(record.user_id, None, 10, None).await,
        "list_generations after update",
    );
    assert_eq!(
        listed.items,
        vec![record],
        "an updated generation must be listed once, as updated"
    );
}

async fn listing(s: &dyn GenerationStore) {
    let owner = user_id();
    let (alpha, beta) = (project_id(), project_id());
    let mut created: Vec<GenerationRecord> = Vec::new();
    for (index, offset) in [5, 1, 3, 3, 3, 2, 4, 1, 6].into_iter().enumerate() {
        let project = match index % 3 {
            0 => Some(alpha),
            1 => Some(beta),
            _ => None,
        };
        let record = generation(owner, project, T0 + offset);
        ok(s.put_generation(&record).await, "put_generation");
        created.push(record);
    }
    ok(
        s.put_generation(&generation(user_id(), Some(alpha), T0 + 3))
            .await,
        "put_generation (another user, same project)",
    );

    let whole = ok(
        s.list_generations(owner, None, 100, None).await,
        "list_generations",
    );
    assert_eq!(
        whole.next_cursor, None,
        "a listing that fits one page must have no next cursor"
    );
    assert_eq!(
        ids_sorted(&whole.items),
        ids_sorted(&created),
        "list_generations must return exactly the user's generations"
    );
    assert!(
        whole
            .items
            .windows(2)
            .all(|w| w[0].created_at >= w[1].created_at),
        "list_generations must be newest first"
    );
    for record in &created {
        assert!(
            whole.items.contains(record),
            "list_generations must return records as stored: {record:?}"
        );
    }
    for limit in [1, 2, 4, 9] {
        let step = format!("list_generations paging with limit {limit}");
        let paged = all_pages(
            &step,
            limit,
            |c| async move { s.list_generations(owner, None, limit, c.as_deref()).await },
            async {},
        )
        .await;
        assert_eq!(
            ids(&paged),
            ids(&whole.items),
            "{step}: pages must concatenate to the one-page listing"
        );
    }

    let in_alpha: Vec<GenerationRecord> = whole
        .items
        .iter()
        .filter(|g| g.project_id == Some(alpha))
        .cloned()
        .collect();
    assert_eq!(
        in_alpha.len(),
        3,
        "the suite put three generations in project alpha"
    );
    let filtered = ok(
        s.list_generations(owner, Some(alpha), 100, None).await,
        "list_generations (one project)",
    );
    assert_eq!(
        filtered.items, in_alpha,
        "the project filter must keep the user's generations of that project, newest first"
    );
    let step = "list_generations (one project) paging with limit 2";
    let paged = all_pages(
        step,
        2,
        |c| async move {
            s.list_generations(owner, Some(alpha), 2, c.as_deref())
                .await
        },
        async {},
    )
    .await;
    assert_eq!(
        ids(&paged),
        ids(&in_alpha),
        "{step}: pages must concatenate to the one-page listing"
    );
    let empty = ok(
        s.list_generations(owner, Some(project_id()), 10, None)
            .await,
        "list_generations (empty project)",
    );
    assert_eq!(
        (empty.items.len(), empty.next_cursor),
        (0, None),
        "a project without generations must list nothing"
    );

    // Insert a newer and an older generation after the first page.
    let (newer, older) = (
        generation(owner, None, T0 + 100),
        generation(owner, None, T0),
    );
    let paged = all_pages(
        "list_generations paging during inserts",
        4,
        |c| async move { s.list_generations(owner, None, 4, c.as_deref()).await },
        async {
            ok(
                s.put_generation(&newer).await,
                "put_generation between pages",
            );
            ok(
                s.put_generation(&older).await,
                "put_generation between pages",
            );
        },
    )
    .await;
    let mut expected = ids(&whole.items);
    expected.push(older.id);
    assert_eq!(
        ids(&paged),
        expected,
        "paging while inserting must neither lose nor repeat generations"
    );
    assert!(
        s.list_generations(owner, None, 4, Some("garbage"))
            .await
            .is_err(),
        "a garbage cursor must be an error"
    );
}

async fn unfinished(s: &dyn GenerationStore) {
    let owner = user_id();
    let mut by_status = Vec::new();
    for status in [
        GenerationStatus::Queued,
        GenerationStatus::Running,
        GenerationStatus::Completed,
        GenerationStatus::Failed,
        GenerationStatus::Cancelled,
    ] {
        let record = GenerationRecord {
            status,
            ..generation(owner, None, T0)
        };
        ok(s.put_generation(&record).await, "put_generation");
        by_status.push(record);
    }
    let mine = |all: Vec<GenerationRecord>| -> Vec<GenerationRecord> {
        all.into_iter().filter(|g| g.user_id == owner).collect()
    };
    let mut found = mine(ok(s.list_unfinished().await, "list_unfinished"));
    found.sort_by_key(|g| g.status.as_str());
    let mut expected = vec![by_status[0].clone(), by_status[1].clone()];
    expected.sort_by_key(|g| g.status.as_str());
    assert_eq!(
        found, expected,
        "list_unfinished must return the queued and running generations, whole, and no final ones"
    );

    let finished = GenerationRecord {
        status: GenerationStatus::Completed,
        completed_at: Some(T0 + 9),
        ..by_status[1].clone()
    };
    ok(
        s.put_generation(&finished).await,
        "put_generation (running -> completed)",
    );
    let found = mine(ok(
        s.list_unfinished().await,
        "list_unfinished after completion",
    ));
    assert_eq!(
        found,
        vec![by_status[0].clone()],
        "a generation that reached a final status must leave list_unfinished"
    );
}

async fn created_since(s: &dyn GenerationStore) {
    let owner = user_id();
    let times = [T0 + 400, T0 + 100, T0 + 300, T0 + 200, T0 + 200];
    for time in times {
        ok(
            s.put_generation(&generation(owner, None, time)).await,
            "put_generation",
        );
    }
    ok(
        s.put_generation(&generation(user_id(), None, T0 + 300))
            .await,
        "put_generation (another user)",
    );
    let step = "count_created_since";
    assert_eq!(
        ok(s.count_created_since(owner, T0 + 200).await, step),
        4,
        "{step} must count times at or after `since`"
    );
    assert_eq!(
        ok(s.count_created_since(owner, T0).await, step),
        5,
        "{step} must count every generation of the user"
    );
    assert_eq!(
        ok(s.count_created_since(owner, T0 + 401).await, step),
        0,
        "{step} must be 0 past the last one"
    );
    assert_eq!(
        ok(s.count_created_since(user_id(), T0).await, step),
        0,
        "{step} must be 0 for a user without generations"
    );
    let step = "created_since";
    assert_eq!(
        ok(s.created_since(owner, T0 + 200).await, step),
        vec![T0 + 200, T0 + 200, T0 + 300, T0 + 400],
        "{step} must list times at or after `since`, oldest first, duplicates kept"
    );
    assert_eq!(
        ok(s.created_since(user_id(), T0).await, step),
        Vec::<i64>::new(),
        "{step} must be empty for a user without generations"
    );
}

fn ids(items: &[GenerationRecord]) -> Vec<GenerationId> {
    items.iter().map(|g| g.id).collect()
}

fn ids_sorted(items: &[GenerationRecord]) -> Vec<GenerationId> {
    let mut ids = ids(items);
    ids.sort();
    ids
}
