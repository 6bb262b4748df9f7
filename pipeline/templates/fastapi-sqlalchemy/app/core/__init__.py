"""Configuration and security helpers."""
