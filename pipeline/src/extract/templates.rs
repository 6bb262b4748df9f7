//! Domain templates: what a terse prompt (`url shortener`, `todo app`, `blog`) most likely means,
//! written in a small notation and typed with the same rules as prompt fields.
//!
//! An entity is `Name: field, field ...`; a field is `name [type] [unique] [?] [=default]
//! [a|b|c] [min..max]`, its type inferred from the name when left out. A relation is
//! `Child > Parent` (required many-to-one), `Child >? Parent` (optional), `A * B`
//! (many-to-many) or `A - B` (one-to-one), with `as stem` for a foreign key to the user.

use codebegen_schema::names::{singular_word, snake_case};
use codebegen_schema::{Field, FieldType, RelationKind};
use serde_json::Value;

use super::meaning::LinkDraft;
use super::types::{infer_type, typed};

/// One domain.
#[derive(Debug)]
pub(crate) struct Template {
    /// Words or phrases that name the domain, singular (`url shortener`, `todo`).
    pub keys: &'static [&'static str],
    /// Project name.
    pub name: &'static str,
    /// Whether the domain needs users who log in.
    pub auth: bool,
    /// Entities, in the notation above.
    pub entities: &'static [&'static str],
    /// Relations, in the notation above.
    pub relations: &'static [&'static str],
}

pub(crate) const TEMPLATES: &[Template] = &[
    Template {
        keys: &["url shortener", "link shortener", "short link", "short url", "shorten url", "shorten link"],
        name: "url_shortener",
        auth: false,
        entities: &["Link: url url, code unique, click_count =0, expires_at?", "Click: referrer url?, user_agent?, country?"],
        relations: &["Click > Link"],
    },
    Template {
        keys: &["todo", "to-do", "to do list", "task list", "task manager", "task tracker"],
        name: "todo_app",
        auth: false,
        entities: &["Task: title, description?, done =false, due_date?, priority low|medium|high =medium", "Tag: name unique"],
        relations: &["Task * Tag"],
    },
    Template {
        keys: &["blog", "blogging"],
        name: "blog",
        auth: true,
        entities: &["Post: title, slug unique, body text, published =false, published_at?", "Comment: author_name, body text", "Tag: name unique"],
        relations: &["Post > User as author", "Comment > Post", "Post * Tag"],
    },
    Template {
        keys: &["e-commerce", "ecommerce", "online shop", "online store", "webshop", "web shop", "shop", "storefront"],
        name: "shop",
        auth: false,
        entities: &[
            "Product: name, description?, price, stock =0, sku",
            "Category: name unique",
            "Customer: name, email unique",
            "Order: status pending|paid|shipped|delivered|cancelled =pending, total",
            "OrderItem: quantity 1.., unit_price",
        ],
        relations: &["Product >? Category", "Order > Customer", "OrderItem > Order", "OrderItem > Product"],
    },
    Template {
        keys: &["chat", "messaging", "messenger"],
        name: "chat",
        auth: true,
        entities: &["Channel: name unique, is_private =false", "ChatMessage: body text, edited boolean =false"],
        relations: &["ChatMessage > Channel", "ChatMessage > User as author", "Channel * User"],
    },
    Template {
        keys: &["inventory", "warehouse", "stock management"],
        name: "inventory",
        auth: false,
        entities: &[
            "Product: name, sku, unit_price",
            "Warehouse: name, location?",
            "StockLevel: quantity integer =0, reorder_level integer?",
            "Supplier: name, email?, phone?",
        ],
        relations: &["StockLevel > Product", "StockLevel > Warehouse", "Product >? Supplier"],
    },
    Template {
        keys: &["crm", "customer relationship", "sales pipeline"],
        name: "crm",
        auth: true,
        entities: &[
            "Company: name, website?, industry?",
            "Contact: first_name, last_name, email?, phone?",
            "Deal: title, deal_value decimal, stage lead|qualified|proposal|won|lost =lead, close_date?",
        ],
        relations: &["Contact >? Company", "Deal > Contact"],
    },
    Template {
        keys: &["note", "notes app", "note-taking", "notebook"],
        name: "notes",
        auth: true,
        entities: &["Notebook: name", "Note: title, content text, pinned =false", "Tag: name unique"],
        relations: &["Note >? Notebook", "Note * Tag"],
    },
    Template {
        keys: &["bookmark", "bookmarking", "read later"],
        name: "bookmarks",
        auth: false,
        entities: &["Bookmark: url url, title, notes text?", "Tag: name unique"],
        relations: &["Bookmark * Tag"],
    },
    Template {
        keys: &["recipe", "cookbook", "cooking", "meal planner"],
        name: "recipes",
        auth: false,
        entities: &["Recipe: title, instructions text, prep_time_minutes, servings", "Ingredient: name unique"],
        relations: &["Recipe * Ingredient"],
    },
    Template {
        keys: &["library", "book lending"],
        name: "library",
        auth: false,
        entities: &[
            "Book: title, isbn, published_year?",
            "Author: name",
            "Member: name, email unique",
            "Loan: borrowed_on date, due_date, returned_on date?",
        ],
        relations: &["Book * Author", "Loan > Book", "Loan > Member"],
    },
    Template {
        keys: &["event booking", "event", "ticketing", "ticket booking"],
        name: "event_booking",
        auth: false,
        entities: &[
            "Event: title, description?, starts_at, venue, capacity",
            "Attendee: name, email unique",
            "Booking: seats 1.. =1, status pending|confirmed|cancelled =pending",
        ],
        relations: &["Booking > Event", "Booking > Attendee"],
    },
    Template {
        keys: &["forum", "discussion board", "message board"],
        name: "forum",
        auth: true,
        entities: &["Category: name unique, description?", "Thread: title, pinned =false", "Post: body text"],
        relations: &["Thread > Category", "Post > Thread", "Thread > User as author", "Post > User as author"],
    },
    Template {
        keys: &["issue tracker", "bug tracker", "issue tracking", "bug tracking", "ticket system"],
        name: "issue_tracker",
        auth: true,
        entities: &[
            "Project: name, code unique",
            "Issue: title, description?, status open|in_progress|resolved|closed =open, priority low|medium|high|critical =medium",
            "Comment: body text",
        ],
        relations: &["Issue > Project", "Comment > Issue", "Issue >? User as assignee"],
    },
    Template {
        keys: &["kanban", "trello"],
        name: "kanban_board",
        auth: true,
        entities: &["Board: name", "Column: name, position", "Card: title, description?, position, due_date?"],
        relations: &["Column > Board", "Card > Column"],
    },
    Template {
        keys: &["expense", "spending", "budget", "personal finance"],
        name: "expense_tracker",
        auth: true,
        entities: &["Account: name, balance =0", "Expense: amount, category food|travel|rent|utilities|other, date, note?"],
        relations: &["Expense > Account", "Account > User"],
    },
    Template {
        keys: &["gym", "fitness", "workout"],
        name: "gym",
        auth: false,
        entities: &["Member: name, email unique, joined_on date", "Trainer: name, specialty?", "GymClass: title, starts_at, capacity"],
        relations: &["GymClass > Trainer", "Member * GymClass"],
    },
    Template {
        keys: &["job board", "job", "hiring", "recruiting", "recruitment"],
        name: "job_board",
        auth: false,
        entities: &[
            "Company: name, website?",
            "Job: title, description text, location, salary?, remote =false",
            "Candidate: name, email unique, resume url?",
            "Application: cover_letter text?, status submitted|reviewing|rejected|hired =submitted",
        ],
        relations: &["Job > Company", "Application > Job", "Application > Candidate"],
    },
    Template {
        keys: &["hotel", "hotel booking", "reservation"],
        name: "hotel_booking",
        auth: false,
        entities: &[
            "Hotel: name, city",
            "Room: room_number, price_per_night decimal, capacity",
            "Guest: name, email unique",
            "Booking: check_in date, check_out date, status pending|confirmed|cancelled =pending",
        ],
        relations: &["Room > Hotel", "Booking > Room", "Booking > Guest"],
    },
    Template {
        keys: &["pet adoption", "adoption", "animal shelter"],
        name: "pet_adoption",
        auth: false,
        entities: &[
            "Shelter: name, city",
            "Pet: name, species dog|cat|rabbit|other, breed?, age?, adopted =false",
            "Adopter: name, email unique",
            "AdoptionRequest: status pending|approved|rejected =pending, message text?",
        ],
        relations: &["Pet > Shelter", "AdoptionRequest > Pet", "AdoptionRequest > Adopter"],
    },
    Template {
        keys: &["clinic", "hospital", "medical"],
        name: "clinic",
        auth: false,
        entities: &[
            "Patient: name, date_of_birth, phone?",
            "Doctor: name, specialty",
            "Appointment: starts_at, reason text?, status scheduled|completed|cancelled =scheduled",
        ],
        relations: &["Appointment > Patient", "Appointment > Doctor"],
    },
    Template {
        keys: &["school", "lms", "learning management", "online course"],
        name: "school",
        auth: false,
        entities: &["Student: name, email unique", "Teacher: name, email unique", "Course: title, code unique"],
        relations: &["Course > Teacher", "Student * Course"],
    },
    Template {
        keys: &["poll", "survey", "voting"],
        name: "polls",
        auth: false,
        entities: &["Poll: question text, closes_at?", "Choice: label", "Vote: voter_name?"],
        relations: &["Choice > Poll", "Vote > Choice"],
    },
    Template {
        keys: &["restaurant", "food ordering", "menu"],
        name: "restaurant",
        auth: false,
        entities: &["MenuItem: name, description?, price, available =true", "Order: table_number?, status new|preparing|served|paid =new", "OrderItem: quantity 1.. =1"],
        relations: &["OrderItem > Order", "OrderItem > MenuItem"],
    },
];

/// The template whose key appears earliest in the prompt's words (longer keys first on ties).
pub(crate) fn find(words: &[String]) -> Option<&'static Template> {
    let singular: Vec<String> = words.iter().map(|w| singular_word(w)).collect();
    let mut best: Option<(usize, usize, &'static Template)> = None;
    for template in TEMPLATES {
        for key in template.keys {
            let key_words: Vec<&str> = key.split(' ').collect();
            let n = key_words.len();
            if n > singular.len() {
                continue;
            }
            let at =
                (0..=singular.len() - n).find(|&i| (0..n).all(|k| singular[i + k] == key_words[k]));
            if let Some(at) = at {
                let better =
                    best.is_none_or(|(b_at, b_len, _)| at < b_at || (at == b_at && n > b_len));
                if better {
                    best = Some((at, n, template));
                }
            }
        }
    }
    best.map(|(_, _, t)| t)
}

/// The template's entities as (key, fields) and its links between keys.
pub(crate) fn instantiate(template: &Template) -> (Vec<(String, Vec<Field>)>, Vec<LinkDraft>) {
    let entities = template
        .entities
        .iter()
        .filter_map(|line| {
            let (name, fields) = line.split_once(':')?;
            let fields = fields.split(',').filter_map(parse_field).collect();
            Some((snake_case(name.trim()), fields))
        })
        .collect();
    let links = template
        .relations
        .iter()
        .filter_map(|line| parse_relation(line))
        .collect();
    (entities, links)
}

fn parse_field(spec: &str) -> Option<Field> {
    let mut parts = spec.split_whitespace();
    let name = snake_case(parts.next()?.trim_end_matches('?'));
    let mut optional = spec.contains('?');
    let mut unique = false;
    let mut explicit = None;
    let mut values: Option<Vec<String>> = None;
    let mut default: Option<&str> = None;
    let mut range: Option<(Option<f64>, Option<f64>)> = None;
    for part in parts {
        let part = part.trim_end_matches('?');
        if part == "unique" {
            unique = true;
        } else if let Some(d) = part.strip_prefix('=') {
            default = Some(d);
        } else if part.contains('|') {
            values = Some(part.split('|').map(str::to_string).collect());
        } else if let Some((lo, hi)) = part.split_once("..") {
            range = Some((lo.parse().ok(), hi.parse().ok()));
        } else if let Some((t, _)) = FieldType::parse_lenient(part) {
            explicit = Some(t);
        }
    }
    let field_type = match (&values, explicit) {
        (Some(_), _) => FieldType::Enum,
        (None, Some(t)) => t,
        (None, None) => infer_type(&name).0,
    };
    let mut field = typed(&name, field_type);
    if field_type == FieldType::Enum {
        field.enum_values =
            Some(values.unwrap_or_else(|| vec!["low".into(), "medium".into(), "high".into()]));
    }
    field.unique |= unique;
    if let Some((lo, hi)) = range {
        field.min = lo;
        field.max = hi;
    }
    if let Some(d) = default {
        field.default = Some(match field_type {
            FieldType::Boolean => Value::Bool(d == "true"),
            FieldType::Integer => Value::from(d.parse::<i64>().ok()?),
            FieldType::Decimal | FieldType::Float => Value::from(d.parse::<f64>().ok()?),
            _ => Value::String(d.to_string()),
        });
        optional = true;
    }
    field.required = !optional;
    Some(field)
}

fn parse_relation(spec: &str) -> Option<LinkDraft> {
    let (spec, hint) = match spec.split_once(" as ") {
        Some((s, h)) => (s, Some(h.trim().to_string())),
        None => (spec, None),
    };
    let (kind, required, sep) = [
        (RelationKind::ManyToOne, false, " >? "),
        (RelationKind::ManyToOne, true, " > "),
        (RelationKind::ManyToMany, false, " * "),
        (RelationKind::OneToOne, true, " - "),
    ]
    .into_iter()
    .find(|(_, _, sep)| spec.contains(sep))?;
    let (from, to) = spec.split_once(sep)?;
    Some(LinkDraft {
        kind,
        hint,
        required,
        ..LinkDraft::many_to_one(&snake_case(from.trim()), &snake_case(to.trim()), required)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_find(prompt: &str, expected: Option<&str>) {
        let words: Vec<String> = prompt
            .split_whitespace()
            .map(|w| w.to_lowercase())
            .collect();
        assert_eq!(
            find(&words).map(|t| t.name),
            expected,
            "template for {prompt:?}"
        );
    }

    #[test]
    fn finding() {
        check_find("url shortener", Some("url_shortener"));
        check_find("a todo app", Some("todo_app"));
        check_find("Recipes", Some("recipes"));
        check_find("hotel booking", Some("hotel_booking"));
        check_find("event booking", Some("event_booking"));
        check_find("an issue tracker", Some("issue_tracker"));
        check_find("lorem ipsum", None);
    }

    #[test]
    fn notation() {
        let (entities, links) = instantiate(&TEMPLATES[0]);
        assert_eq!(entities[0].0, "link");
        let fields: Vec<String> = entities[0]
            .1
            .iter()
            .map(|f| {
                format!(
                    "{}:{}{}",
                    f.name,
                    f.field_type.as_str(),
                    if f.required { "" } else { "?" }
                )
            })
            .collect();
        assert_eq!(
            fields,
            [
                "url:url",
                "code:string",
                "click_count:integer?",
                "expires_at:datetime?"
            ]
        );
        assert!(entities[0].1[1].unique);
        assert_eq!(links, [LinkDraft::many_to_one("click", "link", true)]);
    }
}
