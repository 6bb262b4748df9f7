#!/usr/bin/env python3
"""Writes fixtures.jsonl: the 24 fixtures of pipeline/fixtures/prompts.json as corpus cases (split
"dev", ids `fixture-<id>`), read by the conventions of README.md.

Usage: from_fixtures.py [OUT]   (default: fixtures.jsonl next to this script)

A fixture's `expect` lists only some of the fields its prompt names and follows the extractor's
own spellings, so each case here is the fixture's expectation plus what `CASES` below says:
its style and domain, the fields the fixture leaves out, and where the corpus conventions read
the prompt differently (an entity renamed for a reserved word takes its plain name back; `User`
is an entity only when the prompt gives users data; enum values as the prompt writes them;
roles as the prompt names them).
"""
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "prompts.json"

# id -> style, domain, and changes to the fixture's expectation:
#   fields: {Entity: {field: type}} added after the fixture's own;
#   rename: {fixture name: corpus name}; drop: entities that are not data here;
#   enums: {"Entity.field": values as written}; auth, roles: when the fixture differs.
CASES = {
    "bookstore": dict(style="narrative", domain="bookstore"),
    "expense_tracker": dict(style="narrative", domain="personal finance"),
    "kanban_board": dict(style="narrative", domain="project management", drop=["User"]),
    "url_shortener": dict(style="terse", domain="url shortener"),
    "conference_app": dict(style="verb_heavy", domain="conference"),
    "blog": dict(style="auth_roles", domain="blogging"),
    "todo": dict(style="narrative", domain="task management", drop=["User"]),
    "inventory": dict(style="narrative", domain="inventory",
                      fields={"Product": {"quantity_in_stock": "integer"}}),
    "clinic": dict(style="narrative", domain="healthcare clinic",
                   fields={"Patient": {"name": "string"}, "Doctor": {"name": "string"}}),
    "recipes": dict(style="narrative", domain="recipe sharing"),
    "school": dict(style="verb_heavy", domain="school"),
    "gym": dict(style="verb_heavy", domain="gym", rename={"ClassRecord": "Class"},
                fields={"Member": {"name": "string"}, "Class": {"name": "string"}}),
    "job_board": dict(style="association", domain="recruiting"),
    "hotel": dict(style="association", domain="hotel",
                  fields={"Hotel": {"name": "string", "address": "string"},
                          "Room": {"capacity": "integer"}}),
    "library": dict(style="association", domain="library",
                    fields={"Book": {"title": "string"}}),
    "issue_tracker": dict(style="auth_roles", domain="issue tracking",
                          fields={"Issue": {"description": "text"}},
                          enums={"Issue.status": ["open", "in progress", "closed"]}),
    "pet_adoption": dict(style="association", domain="animal shelter",
                         fields={"Shelter": {"name": "string", "city": "string", "phone_number": "string"},
                                 "Pet": {"name": "string", "breed": "string"}}),
    "shop_bullets": dict(style="bullets", domain="e-commerce", drop=["User"], roles=["admin"],
                         fields={"Product": {"name": "string", "description": "text"},
                                 "Category": {"name": "string"},
                                 "Customer": {"name": "string"}}),
    "music": dict(style="narrative", domain="music streaming",
                  fields={"Album": {"title": "string"}, "Track": {"title": "string"}}),
    "event_booking": dict(style="verb_heavy", domain="events",
                          fields={"Event": {"title": "string"}}),
    "terse_todo": dict(style="terse", domain="task management"),
    "terse_blog": dict(style="terse", domain="blogging", drop=["User"]),
    "terse_chat": dict(style="terse", domain="chat", drop=["User"]),
    "explicit_relations": dict(style="one_to_one", domain="sports"),
}


def convert(fixture):
    extra = CASES[fixture["id"]]
    expect = fixture["expect"]
    rename = extra.get("rename", {})
    drop = set(extra.get("drop", []))

    def name(entity):
        return rename.get(entity, entity)

    entities = [name(e) for e in expect["entities"] if e not in drop]
    relations = []
    for r in expect.get("relations", []):
        a, b, kind = name(r["from"]), name(r["to"]), r["kind"]
        if kind == "one_to_many":
            a, b, kind = b, a, "many_to_one"
        relations.append([a, b, kind])
    fields, types, enums = {}, {}, {}
    for f in expect.get("fields", []):
        entity = name(f["entity"])
        if entity not in entities:
            continue
        fields.setdefault(entity, []).append(f["name"])
        types.setdefault(entity, {})[f["name"]] = f["type"]
        if f["type"] == "enum":
            enums[f"{entity}.{f['name']}"] = f["enum_values"]
    for entity, more in extra.get("fields", {}).items():
        for field, field_type in more.items():
            if field not in fields.get(entity, []):
                fields.setdefault(entity, []).append(field)
                types.setdefault(entity, {})[field] = field_type
    enums.update(extra.get("enums", {}))
    auth = bool(expect.get("auth", False))
    return {
        "id": f"fixture-{fixture['id']}",
        "split": "dev",
        "style": extra["style"],
        "domain": extra["domain"],
        "prompt": fixture["prompt"],
        "entities": entities,
        "relations": relations,
        "fields": fields,
        "field_types": types,
        "enums": enums,
        "auth": auth,
        "roles": extra.get("roles", expect.get("roles", [])),
    }


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "fixtures.jsonl"
    fixtures = json.loads(FIXTURES.read_text())
    unknown = {f["id"] for f in fixtures} ^ set(CASES)
    if unknown:
        sys.exit(f"fixtures and CASES disagree on: {sorted(unknown)}")
    lines = [json.dumps(convert(f), ensure_ascii=False) for f in fixtures]
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} cases to {out}")


if __name__ == "__main__":
    main()
