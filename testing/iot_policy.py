"""A small evaluator of AWS IoT Core policies with policy variables, for the policy tests.

It follows the documented rules that matter here: an explicit Deny wins; otherwise some Allow
statement must match the action and the resource; ``*`` and ``?`` are the only wildcards in a
policy's resource (MQTT's ``+`` and ``#`` are literal characters there); a policy variable that
cannot be resolved (e.g. ``${iot:Connection.Thing.ThingName}`` for a client whose certificate
has no thing attached) makes its statement match nothing; ``Bool`` and ``StringEquals``
conditions are checked against the request's context.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tools.deploy import template

_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class Request:
    """One IoT authorisation question: may this connection do *action* on *resource*?"""

    action: str  # "iot:Publish"
    resource: str  # full ARN, e.g. arn:aws:iot:eu-west-1:123456789012:topic/robot/a/cmd
    context: Mapping[str, str] = field(default_factory=dict)  # policy variables and keys


def connection(thing: str | None, client_id: str | None = None) -> dict[str, str]:
    """The context of an mTLS connection whose certificate is attached to *thing* (or none)."""
    ctx = {"iot:ClientId": client_id or thing or ""}
    if thing:
        ctx["iot:Connection.Thing.ThingName"] = thing
        ctx["iot:Connection.Thing.IsAttached"] = "true"
    else:
        ctx["iot:Connection.Thing.IsAttached"] = "false"
    return ctx


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _resolve(pattern: str, context: Mapping[str, str]) -> str | None:
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        if match.group(1) not in context:
            missing = True
            return ""
        # a value is matched literally, never as a wildcard
        return re.sub(r"([*?\[])", r"[\1]", context[match.group(1)])

    resolved = _VARIABLE.sub(replace, pattern)
    return None if missing else resolved


def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _conditions_hold(conditions: Mapping[str, Mapping[str, Any]],
                     context: Mapping[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            actual = context.get(key)
            wanted = [str(v).lower() if operator == "Bool" else str(v)
                      for v in _as_list(expected)]
            if actual is None:
                return False
            got = actual.lower() if operator == "Bool" else actual
            if operator in ("Bool", "StringEquals"):
                if got not in wanted:
                    return False
            else:
                raise NotImplementedError(f"condition operator {operator}")
    return True


def _statement_matches(statement: Mapping[str, Any], request: Request) -> bool:
    if not any(_matches(a, request.action) for a in _as_list(statement["Action"])):
        return False
    if not _conditions_hold(statement.get("Condition", {}), request.context):
        return False
    for pattern in _as_list(statement["Resource"]):
        resolved = _resolve(pattern, request.context)
        if resolved is not None and _matches(resolved, request.resource):
            return True
    return False


def allowed(policy: Mapping[str, Any], request: Request) -> bool:
    """Whether *policy* (a policy document with plain-string ARNs) allows *request*."""
    statements = _as_list(policy["Statement"])
    if any(s["Effect"] == "Deny" and _statement_matches(s, request) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and _statement_matches(s, request) for s in statements)


# One stack's values, to resolve the template's policy as IoT Core would see it.
REGION, ACCOUNT, STACK = "eu-west-1", "123456789012", "mars"
IOT = f"arn:aws:iot:{REGION}:{ACCOUNT}"
ALIAS_ARN = f"{IOT}:rolealias/{STACK}-robot-video"


def resolve(value: Any, legacy: bool = False) -> Any:
    """Resolve the template's Fn::Sub / GetAtt / Fn::If for the values one stack would have."""
    if isinstance(value, dict) and "Fn::If" in value:
        condition, then, otherwise = value["Fn::If"]
        assert condition == "HasLegacyActionTopic"
        return resolve(then if legacy else otherwise, legacy)
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"]
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                  "AWS::StackName": STACK}
        text = re.sub(r"\$\{(AWS::\w+)\}", lambda m: pseudo[m.group(1)], text)
        return text.replace("${!", "${")  # the escape for IoT's own variables
    if isinstance(value, dict) and value.get("Fn::GetAtt") == ["RobotRoleAlias", "RoleAliasArn"]:
        return ALIAS_ARN
    if isinstance(value, list):
        return [v for v in (resolve(v, legacy) for v in value) if v != {"Ref": "AWS::NoValue"}]
    return value


def template_policy(legacy: bool) -> dict[str, Any]:
    """The template's RobotPolicy with one stack's values; ``legacy``: LegacyActionTopic on."""
    document = template.load()["Resources"]["RobotPolicy"]["Properties"]["PolicyDocument"]
    statements = []
    for statement in document["Statement"]:
        statements.append({**statement, "Resource": resolve(statement["Resource"], legacy)})
    return {"Statement": statements}


def ask(policy: Mapping[str, Any], action: str, resource: str, thing: str = "sts-pi",
        client_id: str | None = None) -> bool:
    """Whether ``thing``'s certificate may do ``action`` on ``resource`` (after the ARN prefix)."""
    return allowed(policy, Request(action, f"{IOT}:{resource}", connection(thing, client_id)))

