"""Generic data access shared by the entity services: lookups, filtered pages, parent checks and
commits that turn constraint violations into HTTP errors instead of crashes."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from fastapi import HTTPException
from pydantic import BaseModel
from sqlalchemy import exc, orm

from app.db.base import Base
from app.schemas.base import PageParams

ModelT = TypeVar("ModelT", bound=Base)


@dataclass(frozen=True)
class ListSpec:
    """The columns a list endpoint filters by equality, by range and searches with `q`."""

    equality: tuple[str, ...] = ()
    ranges: tuple[str, ...] = ()
    search: tuple[str, ...] = ()


def get_or_404(db: orm.Session, model: type[ModelT], item_id: int) -> ModelT:
    """The row with this id, or a 404 response."""
    item = db.get(model, item_id)
    if item is None:
        raise HTTPException(status_code=404, detail=f"{model.__name__} {item_id} not found")
    return item


def ensure_parents(
    db: orm.Session,
    parents: Sequence[tuple[str, type[Base]]],
    data: dict[str, Any],
) -> None:
    """Rejects (422) foreign keys in `data` that point to no row."""
    errors = [
        {
            "loc": ["body", column],
            "msg": f"{model.__name__} {data[column]} not found",
            "type": "not_found",
        }
        for column, model in parents
        if data.get(column) is not None and db.get(model, data[column]) is None
    ]
    if errors:
        raise HTTPException(status_code=422, detail=errors)


def commit(db: orm.Session) -> None:
    """Commits; a unique clash or a restricted delete becomes a 409 response."""
    try:
        db.commit()
    except exc.IntegrityError as error:
        db.rollback()
        raise HTTPException(
            status_code=409,
            detail="The change conflicts with existing data (a unique value or related rows).",
        ) from error


def create(db: orm.Session, item: ModelT) -> ModelT:
    """Inserts a row and reloads it (for ids and server defaults)."""
    db.add(item)
    commit(db)
    db.refresh(item)
    return item


def update(db: orm.Session, item: ModelT, changes: dict[str, Any]) -> ModelT:
    """Applies `changes` to a row and reloads it."""
    for name, value in changes.items():
        setattr(item, name, value)
    commit(db)
    db.refresh(item)
    return item


def delete(db: orm.Session, item: Base) -> None:
    """Deletes a row; the database applies the foreign keys' ON DELETE rules."""
    db.delete(item)
    commit(db)


def order_by(model: type[Base], sort: str | None) -> list[Any]:
    """ORDER BY clauses for `sort` (`title,-created_at`), then the id for a stable order."""
    clauses: list[Any] = []
    for token in (sort or "").split(","):
        name = token.strip()
        if not name:
            continue
        column = getattr(model, name.removeprefix("-"))
        clauses.append(column.desc() if name.startswith("-") else column.asc())
    clauses.append(sa.inspect(model).primary_key[0].asc())
    return clauses


def page(
    db: orm.Session,
    model: type[ModelT],
    stmt: sa.Select[Any],
    params: PageParams,
    sort: str | None = None,
) -> tuple[list[ModelT], int]:
    """One page of `stmt`'s rows and the total number of rows."""
    total = db.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    ordered = stmt.order_by(*order_by(model, sort)).limit(params.limit).offset(params.offset)
    return list(db.scalars(ordered).all()), total


def list_page(
    db: orm.Session,
    model: type[ModelT],
    filters: BaseModel,
    spec: ListSpec,
) -> tuple[list[ModelT], int]:
    """A page of rows matching the equality, range and `q` filters set in `filters`."""
    values = filters.model_dump(exclude_none=True)
    stmt = sa.select(model)
    for name in spec.equality:
        if name in values:
            stmt = stmt.where(getattr(model, name) == values[name])
    for name in spec.ranges:
        if f"{name}_min" in values:
            stmt = stmt.where(getattr(model, name) >= values[f"{name}_min"])
        if f"{name}_max" in values:
            stmt = stmt.where(getattr(model, name) <= values[f"{name}_max"])
    query = values.get("q")
    if query and spec.search:
        needle = query.lower()
        matches = [
            sa.func.lower(getattr(model, name)).contains(needle, autoescape=True)
            for name in spec.search
        ]
        stmt = stmt.where(sa.or_(*matches))
    params = PageParams(limit=values["limit"], offset=values["offset"])
    return page(db, model, stmt, params, values.get("sort"))
