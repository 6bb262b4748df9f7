"""Schemas of the auth routes."""

from pydantic import BaseModel


class Token(BaseModel):
    """An access token for the `Authorization: Bearer` header."""

    access_token: str
    token_type: str = "bearer"
