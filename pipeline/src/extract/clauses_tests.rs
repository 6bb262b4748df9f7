//! Tests for the clause reader: each prompt shape and the statements it yields.

use super::*;
use crate::extract::phrases::Quantity;
use crate::extract::sentences::{split_sentences, tokenize};

fn show_phrase(p: &Phrase) -> String {
    let mut s = p.words.join(" ");
    if p.quantity == Quantity::Many {
        s = format!("many {s}");
    }
    if p.optional {
        s.push('?');
    }
    if !p.values.is_empty() {
        s.push_str(&format!("[{}]", p.values.join("|")));
    }
    if !p.paren.is_empty() {
        s.push_str(&format!("({})", p.paren.len()));
    }
    s
}

fn show(st: &Statement) -> String {
    match st {
        Statement::Mention(p) => format!("mention {}", show_phrase(p)),
        Statement::Has { owner, items, can } => {
            let items: Vec<String> = items.iter().map(show_phrase).collect();
            let can = if *can { " can" } else { "" };
            format!("has{can} {}: {}", show_phrase(owner), items.join(", "))
        }
        Statement::Link {
            from,
            to,
            kind,
            required,
            hint,
            weak,
        } => {
            let kind = match kind {
                RelationKind::ManyToOne => "->",
                RelationKind::ManyToMany => "<->",
                RelationKind::OneToOne => "-1-",
            };
            let mut s = format!("{} {kind} {}", show_phrase(from), show_phrase(to));
            if *required {
                s.push_str(" req");
            }
            if let Some(h) = hint {
                s.push_str(&format!(" as {h}"));
            }
            if *weak {
                s.push_str(" weak");
            }
            s
        }
    }
}

fn check(input: &str, expected: &[&str]) {
    let reading = read(&split_sentences(&tokenize(input)));
    let got: Vec<String> = reading.statements.iter().map(show).collect();
    assert_eq!(got, expected, "statements of {input:?}");
}

fn check_name(input: &str, expected: Option<&str>) {
    let reading = read(&split_sentences(&tokenize(input)));
    assert_eq!(
        reading.name_hint.map(|w| w.join(" ")).as_deref(),
        expected,
        "name of {input:?}"
    );
}

#[test]
fn has_lists() {
    check(
        "Cards have a title, description, position and due date.",
        &["has cards: title, description, position, due date"],
    );
    check(
        "Each expense has an amount, a category (food, travel), a date and an optional note.",
        &["has expense: amount, category(2), date, note?"],
    );
    check(
        "Books (title, isbn, price)",
        &["has books: title, isbn, price"],
    );
    check("Book: title, isbn", &["has book: title, isbn"]);
    check(
        "Products with a name and a price",
        &["has products: name, price"],
    );
    check(
        "Tasks have a status: todo, in progress, done, and a due date.",
        &["has tasks: status[todo|in_progress|done], due date"],
    );
    check(
        "Users have a role which is admin or member.",
        &["has users: role[admin|member]"],
    );
    check("They have a name.", &[]);
    check(
        "Posts have a title. They also have a body.",
        &["has posts: title", "has posts: body"],
    );
}

#[test]
fn continued_predicates() {
    check(
        "books have a title and price, and belong to a publisher",
        &["books -> publisher req", "has books: title, price"],
    );
    check(
        "Projects have a name and contain many tasks.",
        &["has projects: many tasks", "has projects: name"],
    );
}

#[test]
fn ownership() {
    check("Every comment belongs to a post.", &["comment -> post req"]);
    check(
        "Tasks can be assigned to a user.",
        &["tasks -> user as assignee"],
    );
    check("Lessons are part of a course.", &["lessons -> course req"]);
    check(
        "Books are written by authors.",
        &["books -> authors req as author"],
    );
    check("A user has many posts.", &["has user: many posts"]);
    check("Users have accounts.", &["has users: accounts"]);
    check(
        "Each chapter of a book has a title.",
        &["chapter -> book req", "has chapter: title"],
    );
}

#[test]
fn verbs() {
    check(
        "Speakers give talks in rooms.",
        &[
            "talks -> speakers req as author weak",
            "talks -> rooms req weak",
        ],
    );
    check(
        "Attendees can bookmark talks.",
        &["attendees <-> talks weak"],
    );
    check(
        "Members can be assigned to cards.",
        &["members <-> cards weak"],
    );
    check(
        "Customers leave reviews on books with a rating from 1 to 5 and a comment.",
        &[
            "reviews -> customers req as author weak",
            "reviews -> books req weak",
            "has reviews: rating, comment",
        ],
    );
    check(
        "Students enroll in courses.",
        &["students <-> courses weak"],
    );
    check(
        "A customer places an order.",
        &["order -> customer req weak"],
    );
    check(
        "Users create posts and comments.",
        &[
            "posts -> users req as author weak",
            "comments -> users req as author weak",
        ],
    );
    check(
        "Speakers give talks, and attendees bookmark them.",
        &[
            "talks -> speakers req as author weak",
            "attendees <-> talks weak",
        ],
    );
    check(
        "The app lets users create projects.",
        &["projects -> users req as author weak"],
    );
}

#[test]
fn many_to_many() {
    check(
        "a book can have several authors",
        &["has can book: many authors"],
    );
    check("Books and authors (many-to-many).", &["books <-> authors"]);
    check(
        "Students and courses are many to many.",
        &["students <-> courses"],
    );
    check(
        "Users and profiles are one-to-one.",
        &["profiles -1- users req"],
    );
}

#[test]
fn sentences_and_headers() {
    check(
        "Authors write books (a book can have several authors).",
        &[
            "books -> authors req as author weak",
            "has can book: many authors",
        ],
    );
    check(
        "A kanban board backend with boards, columns and cards.",
        &["mention boards", "mention columns", "mention cards"],
    );
    check(
        "Track expenses: users have accounts.",
        &["mention expenses", "has users: accounts"],
    );
    check(
        "Entities: books, authors (name, bio).",
        &["mention books", "has authors: name, bio"],
    );
    check(
        "There are boards and cards.",
        &["mention boards", "mention cards"],
    );
    check("Users log in with email and password.", &[]);
    check("Roles: admin, editor.", &[]);
    check(
        "A blog where users write posts.",
        &["posts -> users req as author weak"],
    );
    check(
        "Books, authors and publishers.",
        &["mention books", "mention authors", "mention publishers"],
    );
}

#[test]
fn names() {
    check_name(
        "A bookstore API: books have a title.",
        Some("a bookstore api"),
    );
    check_name(
        "Conference app: speakers give talks.",
        Some("conference app"),
    );
    check_name(
        "Track expenses: users have accounts.",
        Some("track expenses"),
    );
    check_name(
        "A kanban board backend with boards and cards.",
        Some("kanban board backend"),
    );
    check_name("url shortener", Some("url shortener"));
    check_name("Build a todo app.", Some("todo app"));
    check_name("Books have a title.", None);
}

#[test]
fn junk_is_ignored() {
    check("", &[]);
    check("))) ((( :::", &[]);
    check("and and and with with of of", &[]);
    let reading = read(&split_sentences(&tokenize(
        "Hello there. Lorem ipsum dolor.",
    )));
    assert_eq!(reading.ignored.len(), 2);
}
