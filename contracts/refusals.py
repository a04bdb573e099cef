"""Refusals in words, from the command schema itself: a command refused by the API or by the
robot reads the same."""

from __future__ import annotations

from typing import Any

_ARTICLE = {"number": "a number", "integer": "a whole number", "string": "text",
            "boolean": "true or false", "object": "a JSON object"}


def explain(document: dict[str, Any], body: Any, error: Any) -> str:
    """A sentence naming what is wrong, from the schema itself: the failing property's range,
    type or pattern, or, when no branch of ``oneOf`` matched, the description of the branch the
    body's action belongs to.

    :param error: fastjsonschema's ``JsonSchemaValueException`` (``name``, ``rule``,
        ``definition``).
    """
    field = str(error.name).removeprefix("data").lstrip(".")
    spec = error.definition if isinstance(error.definition, dict) else {}
    rule = error.rule
    if rule == "oneOf" and isinstance(body, dict):
        for branch in document.get("oneOf", []):
            if body.get("action") in branch.get("properties", {}).get("action", {}).get(
                    "enum", []):
                return f"action {body['action']!r} {branch['description']}"
        rule, field, spec = "enum", "action", document["properties"]["action"]
    if rule == "required" and isinstance(body, dict):
        missing = [k for k in spec.get("required", []) if k not in body]
        return f"{missing[0] if missing else 'a field'} is required"
    if rule == "additionalProperties" and isinstance(body, dict):
        allowed = document.get("properties", {})
        unknown = sorted(k for k in body if k not in allowed)
        return f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
    if rule in ("minimum", "maximum") and "minimum" in spec and "maximum" in spec:
        return f"{field} must be between {spec['minimum']:g} and {spec['maximum']:g}"
    if rule == "type":
        kind = str(spec.get("type"))
        return f"{field or 'the command'} must be {_ARTICLE.get(kind, kind)}"
    if rule == "enum":
        return f"{field} must be one of {', '.join(spec['enum'])}"
    if rule == "pattern":
        return f"{field} must match {spec['pattern']}"
    return str(error.message).removeprefix("data.").removeprefix("data ")
