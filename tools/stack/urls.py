"""Broker URLs with and without their user and password."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit


def redact_url(url: str) -> str:
    """``url`` without a password, safe to print."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{parts.hostname}"
                                     + (f":{parts.port}" if parts.port else "")))


def with_user(url: str, user: str, password: str) -> str:
    """``mqtt://host:port`` with a user and password (kept as is if it already has one)."""
    parts = urlsplit(url)
    if parts.username or not parts.hostname:
        return url
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.netloc}"
    return urlunsplit(parts._replace(netloc=netloc))
