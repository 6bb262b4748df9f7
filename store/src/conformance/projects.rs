//! Conformance checks for [`ProjectStore`]: idempotent creation, newest-first listing with
//! pages that neither lose nor repeat items while others are inserted, and deletion.

use super::{all_pages, conflict, ok, project, project_id, user_id, T0};
use crate::ProjectStore;
use codebegen_schema::generation::{ProjectId, ProjectRecord};
use std::cmp::Reverse;

/// Runs every [`ProjectStore`] check.
pub async fn project_store(s: &dyn ProjectStore) {
    create_and_get(s).await;
    listing(s).await;
    deletion(s).await;
}

async fn create_and_get(s: &dyn ProjectStore) {
    let record = ProjectRecord {
        description: "ünïcödé — \"quoted\"\nsecond line".to_string(),
        ..project(user_id(), T0)
    };
    ok(s.create_project(&record).await, "create_project");
    assert_eq!(
        ok(s.get_project(record.id).await, "get_project"),
        Some(record.clone()),
        "get_project must return the record as created"
    );
    ok(
        s.create_project(&record).await,
        "create_project again with the same record (must be idempotent)",
    );
    conflict(
        s.create_project(&ProjectRecord {
            name: "other".to_string(),
            ..record.clone()
        })
        .await,
        "create_project with a taken id and other content",
    );
    assert_eq!(
        ok(s.get_project(record.id).await, "get_project"),
        Some(record),
        "a refused create must not change the project"
    );
    assert_eq!(
        ok(s.get_project(project_id()).await, "get_project (unknown)"),
        None,
        "an unknown project must give None"
    );
}

/// Newest first by creation time, ties in a stable order; every page size sees every project
/// exactly once; projects inserted while paging do not disturb the pages of the others.
async fn listing(s: &dyn ProjectStore) {
    let owner = user_id();
    let times = [
        T0 + 50,
        T0 + 10,
        T0 + 30,
        T0 + 30,
        T0 + 30,
        T0 + 20,
        T0 + 40,
        T0 + 10,
    ];
    let mut created = Vec::new();
    for time in times {
        let record = project(owner, time);
        ok(s.create_project(&record).await, "create_project");
        created.push(record);
    }
    let stranger = project(user_id(), T0 + 45);
    ok(
        s.create_project(&stranger).await,
        "create_project (another user)",
    );

    let whole = ok(s.list_projects(owner, 100, None).await, "list_projects");
    assert_eq!(
        whole.next_cursor, None,
        "a listing that fits one page must have no next cursor"
    );
    assert_eq!(
        whole.items.len(),
        created.len(),
        "list_projects must return exactly the user's projects"
    );
    assert!(
        whole
            .items
            .windows(2)
            .all(|w| w[0].created_at >= w[1].created_at),
        "list_projects must be newest first: {:?}",
        whole.items.iter().map(|p| p.created_at).collect::<Vec<_>>()
    );
    let mut expected = created.clone();
    expected.sort_by_key(|p| Reverse(p.created_at));
    assert_eq!(
        sorted_ids(&whole.items),
        sorted_ids(&expected),
        "list_projects must return the stored records"
    );
    for record in &created {
        assert!(
            whole.items.contains(record),
            "list_projects must return records as stored: {record:?}"
        );
    }

    for limit in [1, 2, 3, 7, 8] {
        let step = format!("list_projects paging with limit {limit}");
        let paged = all_pages(
            &step,
            limit,
            |cursor| async move { s.list_projects(owner, limit, cursor.as_deref()).await },
            async {},
        )
        .await;
        assert_eq!(
            ids(&paged),
            ids(&whole.items),
            "{step}: pages must concatenate to the one-page listing"
        );
    }

    // Insert a newest and an oldest project after the first page has been read.
    let (newest, oldest) = (project(owner, T0 + 1_000), project(owner, T0));
    let paged = all_pages(
        "list_projects paging during inserts",
        3,
        |cursor| async move { s.list_projects(owner, 3, cursor.as_deref()).await },
        async {
            ok(
                s.create_project(&newest).await,
                "create_project between pages",
            );
            ok(
                s.create_project(&oldest).await,
                "create_project between pages",
            );
        },
    )
    .await;
    let mut expected_ids = ids(&whole.items);
    expected_ids.push(oldest.id);
    assert_eq!(
        ids(&paged),
        expected_ids,
        "paging while inserting: an item newer than the cursor must not appear, an older one must appear last, none lost or repeated"
    );
    assert!(
        s.list_projects(owner, 3, Some("not a cursor"))
            .await
            .is_err(),
        "a garbage cursor must be an error"
    );
    let others = ok(
        s.list_projects(stranger.user_id, 10, None).await,
        "list_projects (another user)",
    );
    assert_eq!(
        others.items,
        vec![stranger],
        "list_projects must not mix users"
    );
    let nobody = ok(
        s.list_projects(user_id(), 10, None).await,
        "list_projects (user without projects)",
    );
    assert_eq!(
        (nobody.items.len(), nobody.next_cursor),
        (0, None),
        "a user without projects must get an empty last page"
    );
}

async fn deletion(s: &dyn ProjectStore) {
    let owner = user_id();
    let (kept, doomed) = (project(owner, T0 + 1), project(owner, T0 + 2));
    ok(s.create_project(&kept).await, "create_project");
    ok(s.create_project(&doomed).await, "create_project");
    assert!(
        ok(s.delete_project(doomed.id).await, "delete_project"),
        "deleting an existing project must return true"
    );
    assert_eq!(
        ok(s.get_project(doomed.id).await, "get_project after delete"),
        None,
        "a deleted project must be gone"
    );
    assert!(
        !ok(s.delete_project(doomed.id).await, "delete_project again"),
        "deleting a missing project must return false"
    );
    assert!(
        !ok(
            s.delete_project(project_id()).await,
            "delete_project (unknown)"
        ),
        "deleting an unknown project must return false"
    );
    let listed = ok(
        s.list_projects(owner, 10, None).await,
        "list_projects after delete",
    );
    assert_eq!(
        listed.items,
        vec![kept],
        "a deleted project must leave the listing, and only it"
    );
}

fn ids(items: &[ProjectRecord]) -> Vec<ProjectId> {
    items.iter().map(|p| p.id).collect()
}

fn sorted_ids(items: &[ProjectRecord]) -> Vec<ProjectId> {
    let mut ids = ids(items);
    ids.sort();
    ids
}
