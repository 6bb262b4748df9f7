//! Snapshot tests of rendered files: the models, schemas, routers, migration and tests of the
//! shared specs. Review snapshot changes like code.

#[path = "render_specs.rs"]
mod specs;

use codebegen_pipeline::render::{render, RenderOptions};
use codebegen_pipeline::FileTree;

const FILES: &[(&str, &[&str])] = &[
    (
        "blog",
        &[
            "app/models/post.py",
            "app/models/user.py",
            "app/models/associations.py",
            "app/schemas/post.py",
            "app/schemas/user.py",
            "app/services/user.py",
            "app/api/v1/post.py",
            "app/api/v1/user.py",
            "app/api/deps.py",
            "app/core/security.py",
            "tests/test_auth.py",
            "requirements.txt",
        ],
    ),
    (
        "kanban",
        &[
            "app/models/card.py",
            "app/models/board.py",
            "app/schemas/card.py",
            "app/api/v1/card.py",
            "alembic/versions/0001_initial.py",
            "tests/test_board.py",
            "tests/test_card.py",
        ],
    ),
    (
        "inventory",
        &[
            "app/models/item.py",
            "app/schemas/item.py",
            "app/services/item.py",
            "tests/conftest.py",
            "README.md",
            "docker-compose.yml",
        ],
    ),
];

fn rendered(text: &str) -> FileTree {
    render(&specs::checked(text), &RenderOptions::default()).expect("shared specs render")
}

#[test]
fn rendered_files_match_snapshots() {
    for (name, text) in specs::ALL {
        let tree = rendered(text);
        let (_, paths) = FILES
            .iter()
            .find(|(n, _)| *n == name)
            .expect("every shared spec has snapshots");
        for path in *paths {
            let content = tree
                .get(path)
                .unwrap_or_else(|| panic!("{name}: {path} was not rendered"));
            let snapshot = format!("{name}__{}", path.replace(['/', '.'], "_"));
            insta::assert_snapshot!(snapshot, content);
        }
    }
}

#[test]
fn file_listing_matches_snapshot() {
    for (name, text) in specs::ALL {
        let tree = rendered(text);
        let listing: Vec<&str> = tree.iter().map(|(path, _)| path).collect();
        insta::assert_snapshot!(format!("{name}__files"), listing.join("\n"));
    }
}

#[test]
fn overview_option_replaces_the_default_paragraph() {
    let spec = specs::checked(specs::KANBAN);
    let options = RenderOptions {
        overview: Some("A board for teams that ship.".into()),
    };
    let tree = render(&spec, &options).expect("renders");
    let readme = tree.get("README.md").expect("README");
    assert!(
        readme.contains("\n\nA board for teams that ship.\n"),
        "{readme}"
    );
    let default = rendered(specs::KANBAN);
    assert!(default
        .get("README.md")
        .expect("README")
        .contains("Boards with columns and cards."));
}

#[test]
fn rendering_is_deterministic() {
    for (_, text) in specs::ALL {
        assert_eq!(rendered(text), rendered(text));
    }
}
