"""Shared schema pieces: 64-bit integers and ids, e-mail and URL types, partial updates, paging
and the `sort` parameter."""

from typing import Annotated, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    TypeAdapter,
    model_validator,
)

Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
"""An integer that fits a 64-bit column."""

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
"""A row id given in a request body."""

_EMAIL = TypeAdapter(EmailStr)
_HTTP_URL = TypeAdapter(HttpUrl)


def check_email(value: str) -> str:
    """Validates an e-mail address and returns its normalized form."""
    return _EMAIL.validate_python(value)


def check_http_url(value: str) -> str:
    """Validates an http(s) URL and returns its normalized text."""
    return str(_HTTP_URL.validate_python(value))


Email = Annotated[str, AfterValidator(check_email)]
"""An e-mail address, stored as text."""

HttpUrlStr = Annotated[str, AfterValidator(check_http_url)]
"""An http(s) URL, stored as text."""


class UpdateModel(BaseModel):
    """Base of partial updates: omitted fields stay unchanged, unknown fields are rejected, and
    `null` is only accepted for nullable columns."""

    model_config = ConfigDict(extra="forbid")

    _not_nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _reject_null(self) -> Self:
        for name in sorted(self.model_fields_set & self._not_nullable):
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class PageParams(BaseModel):
    """Paging query parameters."""

    limit: int = Field(50, ge=1, le=200, description="Rows per page (at most 200)")
    offset: int = Field(0, ge=0, le=2**63 - 1, description="Rows to skip")


def check_sort(value: str | None, allowed: frozenset[str]) -> str | None:
    """Validates a `sort` parameter: comma-separated fields, each optionally prefixed with `-`."""
    if value is None:
        return None
    for token in value.split(","):
        name = token.strip().removeprefix("-")
        if name not in allowed:
            choices = ", ".join(sorted(allowed))
            raise ValueError(f"cannot sort by {name!r}; sortable fields: {choices}")
    return value
