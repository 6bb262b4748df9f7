"""Database plumbing: the declarative base, the engine and sessions."""
