//! Tests for building: how list items become fields or related entities.

use super::*;
use crate::extract::auth::detect;
use crate::extract::clauses::read;
use crate::extract::sentences::{split_sentences, tokenize};

/// `Entity(field:type, ...)` per entity, then one line per link.
fn show(prompt: &str) -> Vec<String> {
    let tokens = tokenize(prompt);
    let model = Model::from_reading(&read(&split_sentences(&tokens)), detect(&tokens));
    let (entities, relations, _) = model.finish();
    let mut out: Vec<String> = entities
        .iter()
        .map(|e| {
            let fields: Vec<String> = e
                .fields
                .iter()
                .map(|f| format!("{}:{}", f.name, f.field_type.as_str()))
                .collect();
            format!("{}({})", e.name, fields.join(", "))
        })
        .collect();
    out.extend(relations.iter().map(|r| {
        let sep = match r.kind {
            RelationKind::ManyToOne => "->",
            RelationKind::ManyToMany => "<->",
            RelationKind::OneToOne => "-1-",
        };
        let field = if r.field.is_empty() {
            String::new()
        } else {
            format!(" [{}]", r.field)
        };
        format!("{} {sep} {}{field}", r.from, r.to)
    }));
    out
}

fn check(prompt: &str, expected: &[&str]) {
    assert_eq!(show(prompt), expected, "model of {prompt:?}");
}

#[test]
fn items_become_fields_or_children() {
    check(
        "Users have accounts.",
        &[
            "User(name:string)",
            "Account(name:string)",
            "Account -> User [owner_id]",
        ],
    );
    check(
        "A post has many comments and tags.",
        &[
            "Post(name:string)",
            "Comment(name:string)",
            "Tag(name:string)",
            "Comment -> Post",
            "Post <-> Tag",
        ],
    );
    check(
        "Each user has one profile.",
        &[
            "User(name:string)",
            "Profile(name:string)",
            "Profile -1- User [owner_id]",
        ],
    );
    check(
        "Posts have a title and notes.",
        &["Post(title:string, notes:text)"],
    );
    check(
        "Books have a publisher. Publishers have a name.",
        &[
            "Book(name:string)",
            "Publisher(name:string)",
            "Book -> Publisher",
        ],
    );
    check(
        "Tasks have a project id. Projects have a name.",
        &[
            "Task(name:string)",
            "Project(name:string)",
            "Task -> Project",
        ],
    );
    check(
        "Orders have items (quantity, price).",
        &[
            "Order(name:string)",
            "Item(quantity:integer, price:decimal)",
            "Item -> Order [order_ref_id]",
        ],
    );
}

#[test]
fn auth_adds_the_user() {
    check(
        "Users log in. Projects have a name.",
        &[
            "User(email:email)",
            "Project(name:string)",
            "Project -> User [owner_id]",
        ],
    );
    check(
        "Roles: admin, member. Admins create boards.",
        &[
            "User(email:email)",
            "Board(name:string)",
            "Board -> User [author_id]",
        ],
    );
}
