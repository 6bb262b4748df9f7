#!/usr/bin/env python3
"""Checks corpus case files: every line parses, names are consistent, styles and types are known.

Usage: check.py FILE.jsonl [FILE.jsonl ...]   (exit 1 and one line per problem when any is wrong)
"""
import json
import re
import sys

STYLES = {"narrative", "bullets", "entity_lines", "terse", "user_stories", "long_spec", "non_native",
          "verb_heavy", "association", "self_reference", "one_to_one", "auth_roles"}
KINDS = {"many_to_one", "many_to_many", "one_to_one"}
TYPES = {"string", "text", "integer", "float", "decimal", "boolean", "date", "datetime", "time", "email",
         "url", "enum", "json", "uuid"}
PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def check_case(case, where, problems):
    def bad(msg):
        problems.append(f"{where} ({case.get('id')}): {msg}")
    for key in ("id", "prompt", "split", "style", "entities", "relations", "fields"):
        if key not in case:
            bad(f"missing `{key}`")
    if case.get("split") not in ("dev", "test"):
        bad("split must be dev or test")
    if case.get("style") not in STYLES:
        bad(f"unknown style {case.get('style')!r}")
    ents = case.get("entities", [])
    if len(set(ents)) != len(ents):
        bad("duplicate entity")
    for e in ents:
        if not PASCAL.match(e):
            bad(f"entity {e!r} is not PascalCase")
    known = set(ents) | ({"User"} if case.get("auth") else set())
    for rel in case.get("relations", []):
        if len(rel) != 3 or rel[2] not in KINDS:
            bad(f"relation {rel!r} must be [A, B, kind] with kind in {sorted(KINDS)}")
            continue
        for side in rel[:2]:
            if side not in known:
                bad(f"relation {rel!r} names {side!r}, not an entity")
    for ent, fields in case.get("fields", {}).items():
        if ent not in known:
            bad(f"fields of {ent!r}, not an entity")
        for f in fields:
            if not SNAKE.match(f):
                bad(f"field {ent}.{f} is not snake_case")
            if f in ("id", "created_at", "updated_at"):
                bad(f"field {ent}.{f} is implicit")
    for ent, types in case.get("field_types", {}).items():
        for f, t in types.items():
            if t not in TYPES:
                bad(f"type {t!r} of {ent}.{f} is not a spec type")
            if f not in case.get("fields", {}).get(ent, []):
                bad(f"typed field {ent}.{f} is not in `fields`")
    for key, values in case.get("enums", {}).items():
        ent, _, f = key.partition(".")
        if f not in case.get("fields", {}).get(ent, []):
            bad(f"enum {key} is not a listed field")
        elif case.get("field_types", {}).get(ent, {}).get(f) != "enum":
            bad(f"enum {key} is not typed enum")
        if not values:
            bad(f"enum {key} has no values")


def main():
    problems = []
    ids = set()
    for path in sys.argv[1:]:
        for n, line in enumerate(open(path), 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                case = json.loads(line)
            except ValueError as e:
                problems.append(f"{where}: not JSON: {e}")
                continue
            if case.get("id") in ids:
                problems.append(f"{where}: duplicate id {case.get('id')}")
            ids.add(case.get("id"))
            check_case(case, where, problems)
    for p in problems:
        print(p)
    print(f"{len(ids)} cases, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
