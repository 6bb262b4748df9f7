//! End-to-end tests of `extract`: prompts and the spec they give, rendered compactly.

use super::*;
use codebegen_schema::{check, has_errors, RelationKind};

/// The spec on a few lines: name, one line per entity, one per relation, auth.
fn render(spec: &AppSpec) -> String {
    let mut out = vec![spec.name.clone()];
    for e in &spec.entities {
        let fields: Vec<String> = e
            .fields
            .iter()
            .map(|f| {
                let mut s = format!("{}:{}", f.name, f.field_type.as_str());
                if !f.required {
                    s.push('?');
                }
                if f.unique {
                    s.push('!');
                }
                if let Some(vs) = &f.enum_values {
                    s.push_str(&format!("[{}]", vs.join("|")));
                }
                if f.min.is_some() || f.max.is_some() {
                    let show = |b: Option<f64>| b.map(|v| v.to_string()).unwrap_or_default();
                    s.push_str(&format!("({}..{})", show(f.min), show(f.max)));
                }
                s
            })
            .collect();
        out.push(format!("{}/{}: {}", e.name, e.table, fields.join(" ")));
    }
    for r in &spec.relations {
        let sep = match r.kind {
            RelationKind::ManyToOne => "->",
            RelationKind::ManyToMany => "<->",
            RelationKind::OneToOne => "-1-",
        };
        let req = if r.required { "" } else { "?" };
        out.push(format!("{} {sep}{req} {}", r.from, r.to));
    }
    if spec.auth.enabled {
        out.push(
            format!("auth {}", spec.auth.roles.join(","))
                .trim_end()
                .to_string(),
        );
    }
    out.join("\n")
}

fn check_prompt(prompt: &str, expected: &str) {
    let extraction = extract(prompt);
    let validation = check(&extraction.spec);
    assert!(
        !has_errors(&validation.diagnostics),
        "{:?}",
        validation.diagnostics
    );
    assert_eq!(
        render(&extraction.spec),
        expected.trim(),
        "spec of {prompt:?}"
    );
}

#[test]
fn entities_and_fields() {
    check_prompt(
        "Books have a title, an isbn and a price. Authors (name, bio). Each review has a rating.",
        "
books_api
Book/books: title:string isbn:string! price:decimal
Author/authors: name:string bio:text
Review/reviews: rating:integer
Review -> Book",
    );
    check_prompt(
        "Tasks have a title and optionally a due date. Tasks can optionally belong to a project.",
        "
tasks_api
Task/tasks: title:string due_date:date?
Project/projects: name:string
Task ->? Project",
    );
    check_prompt(
        "Invoices with a number, an amount as well as a unique code or an optional note.",
        "
invoices_api
Invoice/invoices: number:integer amount:decimal code:string! note:text?",
    );
}

#[test]
fn ownership() {
    check_prompt(
        "Every comment belongs to a post. A board has many columns. Tasks can be assigned to a \
         project. A chapter of a book has a title. Companies own vehicles. Users have accounts.",
        "
comments_api
Comment/comments: name:string
Post/posts: name:string
Board/boards: name:string
Task/tasks: name:string
Project/projects: name:string
Chapter/chapters: title:string
Book/books: name:string
Vehicle/vehicles: name:string
Company/companies: name:string
User/users: name:string
Column/columns: name:string
Account/accounts: name:string
Comment -> Post
Column -> Board
Task ->? Project
Chapter -> Book
Vehicle -> Company
Account -> User",
    );
}

#[test]
fn many_to_many_and_one_to_one() {
    check_prompt(
        "A book can have several authors. Photos can be on many albums. Posts and tags \
         (many-to-many). Attendees can bookmark talks. Each user has one profile.",
        "
books_api
Book/books: name:string
Photo/photos: name:string
Album/albums: name:string
Post/posts: name:string
Tag/tags: name:string
Attendee/attendees: name:string
Talk/talks: name:string
User/users: name:string
Author/authors: name:string
Profile/profiles: name:string
Book <->? Author
Photo <->? Album
Post <->? Tag
Attendee <->? Talk
Profile -1- User",
    );
}

#[test]
fn enumerations() {
    check_prompt(
        "Tasks have a priority (low, medium, high), a status: todo, in progress, done, and a \
         category (food/travel). Users have a name. A user's role is admin or member.",
        "
tasks_api
User/users: email:email! name:string
Task/tasks: priority:enum[low|medium|high] status:enum[todo|in_progress|done] category:enum[food|travel]
Task ->? User
auth admin,member",
    );
}

#[test]
fn types_from_names() {
    check_prompt(
        "Events have a start time, an opening time, a birthday, a published at, a budget, a stock, \
         an is_public flag, an email, a website, a description, a uuid, some metadata and a rating \
         from 1 to 5.",
        "
events_api
Event/events: start_time:datetime opening_time:time birthday:date published_at:datetime budget:decimal \
stock:integer?(0..) is_public:boolean? email:email website:url description:text uuid:uuid meta:json rating:integer(1..5)",
    );
}

#[test]
fn auth_and_roles() {
    check_prompt(
        "Users log in with email and password. Roles: viewer, admin, editor. Admins manage articles.",
        "
articles_api
User/users: email:email!
Article/articles: name:string
Article -> User
auth admin,editor,viewer",
    );
    check_prompt(
        "Users sign up. Notes have a body.",
        "
notes_api
User/users: email:email!
Note/notes: body:text
Note ->? User
auth",
    );
}

#[test]
fn terse_prompts_use_templates() {
    let names: Vec<String> = [
        "url shortener",
        "todo app",
        "blog",
        "an online shop",
        "chat",
        "inventory",
        "crm",
        "notes",
        "bookmarks",
        "recipes",
        "library",
        "event booking",
        "forum",
        "issue tracker",
        "kanban",
        "expense tracker",
    ]
    .iter()
    .map(|p| {
        let e = extract(p);
        assert!(
            e.diagnostics.iter().any(|d| d.code == "template"),
            "{p} used no template"
        );
        assert!(
            e.spec.entities.len() >= 2 || p.contains("url"),
            "{p} gave {:?}",
            e.spec.entities
        );
        e.spec.name
    })
    .collect();
    assert_eq!(
        names,
        [
            "url_shortener",
            "todo_app",
            "blog",
            "shop",
            "chat",
            "inventory",
            "crm",
            "notes",
            "bookmarks",
            "recipes",
            "library",
            "event_booking",
            "forum",
            "issue_tracker",
            "kanban",
            "expense_tracker"
        ]
    );
}

#[test]
fn no_garbage_entities() {
    check_prompt(
        "Build a backend API system with some data and things. Users log in. Projects have a name.",
        "
projects_api
User/users: email:email!
Project/projects: name:string
Project ->? User
auth",
    );
}

#[test]
fn unknown_prompts_fall_back_with_a_warning() {
    for prompt in ["", "Lorem ipsum dolor sit amet.", "???", "做一个应用"] {
        let e = extract(prompt);
        assert_eq!(e.spec.entities[0].name, "Item", "{prompt:?}");
        assert!(
            e.diagnostics.iter().any(|d| d.code == "not_understood"),
            "{prompt:?}"
        );
        assert!(!has_errors(&check(&e.spec).diagnostics));
    }
}

#[test]
fn names_and_descriptions() {
    let e = extract("I need an API for a bookstore where customers can order books. More later.");
    assert_eq!(e.spec.name, "bookstore_api");
    assert_eq!(
        e.spec.description,
        "I need an API for a bookstore where customers can order books."
    );
    assert_eq!(
        extract("Track workouts: each workout has a date.")
            .spec
            .name,
        "workout_tracker"
    );
}
