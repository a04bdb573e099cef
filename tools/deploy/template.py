"""Read ``cloud/template.yaml``, point it at uploaded artifacts, and expand ``Fn::ForEach``.

CloudFormation runs the ``AWS::LanguageExtensions`` and SAM transforms itself; the deploy tool
only swaps local artifact paths (``CodeUri: build/code``) for S3 locations. :func:`expand`
mirrors what ``AWS::LanguageExtensions`` does with ``Fn::ForEach``, so the dry run and the tests
can look at the resources one robot list produces and hand them to the SAM translator offline.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tools.deploy.errors import DeployError

TEMPLATE = Path(__file__).resolve().parents[2] / "cloud" / "template.yaml"
FOREACH = "Fn::ForEach::"

# Which property of which resource type holds a local artifact path.
ARTIFACT_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


class TemplateError(DeployError, ValueError):
    """The template cannot be read or does not have the expected shape."""


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (``!Ref x`` -> ``{"Ref": "x"}``)."""


def _construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # YAML has no fourth kind of node
        raise TypeError(f"unexpected YAML node {node!r}")
    return {name: value}


_Loader.add_multi_constructor("!", _construct)


def with_command_models(template: dict[str, Any]) -> dict[str, Any]:
    """*template* with the API's request models taken from the one command schema."""
    from contracts import command

    models = template.get("Resources", {}).get("Api", {}).get("Properties", {}).get("Models")
    if isinstance(models, dict):
        for name, model in command.api_models().items():
            if name not in models:
                raise TemplateError(f"the template's Api has no model {name} for the schema")
            models[name] = model
    return template


_parsed: dict[tuple[str, int], dict[str, Any]] = {}


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain data, with every short-form tag in its long form and the request
    models from the command schema. Each call returns a copy of its own."""
    try:
        key = (str(path), Path(path).stat().st_mtime_ns)
        if key not in _parsed:
            _parsed[key] = _parse(Path(path).read_text(encoding="utf-8"), path)
    except OSError as exc:
        raise TemplateError(f"cannot read the template {path}: {exc.strerror}") from None
    return with_command_models(copy.deepcopy(_parsed[key]))


def _parse(text: str, path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_Loader)  # SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError(f"{path} has no Resources section")
    return data


def page_headers(region: str, template: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The security headers CloudFront adds to the page (``WebSecurityHeaders``), for *region*;
    the local stack sends the same ones, so a page that breaks them breaks on a laptop too."""
    source = template if template is not None else load()
    config = source["Resources"]["WebSecurityHeaders"]["Properties"][
        "ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = config["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    return {
        "Content-Security-Policy": " ".join(csp.replace("${AWS::Region}", region).split()),
        "X-Frame-Options": config["FrameOptions"]["FrameOption"],
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": config["ReferrerPolicy"]["ReferrerPolicy"],
    }


def artifact_paths(template: Mapping[str, Any]) -> dict[str, str]:
    """``{logical id: local path}`` of every resource whose code the deploy must upload."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        if logical_id.startswith(FOREACH):
            continue
        prop = ARTIFACT_PROPERTIES.get(resource.get("Type", ""))
        if prop:
            value = resource.get("Properties", {}).get(prop)
            if isinstance(value, str) and not value.startswith("s3://"):
                found[logical_id] = value
    return found


def package(template: Mapping[str, Any], locations: Mapping[str, tuple[str, str]]) -> dict:
    """A copy of *template* whose local artifact paths point at S3.

    :param locations: ``{local path: (bucket, key)}`` as uploaded.
    :raises TemplateError: when a path in the template was not built.
    """
    packaged = copy.deepcopy(dict(template))
    for logical_id, path in artifact_paths(template).items():
        if path not in locations:
            raise TemplateError(f"{logical_id} needs {path!r}, which the build did not produce")
        bucket, key = locations[path]
        resource = packaged["Resources"][logical_id]
        prop = ARTIFACT_PROPERTIES[resource["Type"]]
        resource["Properties"][prop] = {"Bucket": bucket, "Key": key}
    return packaged


def to_json(template: Mapping[str, Any]) -> str:
    """The body CloudFormation receives. Sorted keys: the same input gives the same bytes."""
    return json.dumps(template, indent=1, sort_keys=True)


def parameter_defaults(template: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(spec["Default"]) for name, spec in template.get("Parameters", {}).items()
            if "Default" in spec}


# ---------------------------------------------------------------- Fn::ForEach


def _alnum(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "", value)


def _substitute(node: Any, identifier: str, value: str) -> Any:
    if isinstance(node, str):
        return node.replace("${" + identifier + "}", value).replace(
            "&{" + identifier + "}", _alnum(value))
    if isinstance(node, list):
        return [_substitute(item, identifier, value) for item in node]
    if isinstance(node, dict):
        if node == {"Ref": identifier}:
            return value
        return {_substitute(k, identifier, value): _substitute(v, identifier, value)
                for k, v in node.items()}
    return node


def _collection(spec: Any, parameters: Mapping[str, str]) -> list[str]:
    if isinstance(spec, list):
        return [str(item) for item in spec]
    if isinstance(spec, dict) and set(spec) == {"Ref"} and spec["Ref"] in parameters:
        return [item.strip() for item in parameters[spec["Ref"]].split(",") if item.strip()]
    raise TemplateError(f"Fn::ForEach collection {spec!r} is not a list or a list parameter")


def _expand_section(section: Mapping[str, Any], parameters: Mapping[str, str]) -> dict:
    out: dict[str, Any] = {}
    for key, value in section.items():
        if not key.startswith(FOREACH):
            out[key] = value
            continue
        identifier, collection, fragment = value
        for item in _collection(collection, parameters):
            produced = _expand_section(_substitute(fragment, identifier, item), parameters)
            for new_key, new_value in produced.items():
                if new_key in out or new_key in section:
                    raise TemplateError(f"Fn::ForEach produces {new_key} twice (robot names "
                                        "that differ only in '-' or '_'?)")
                out[new_key] = new_value
    return out


def _resolve_foreach_fns(node: Any) -> Any:
    """``{"Fn::Sub": "Channelstspi"}`` left as a GetAtt's logical id becomes a plain string."""
    if isinstance(node, list):
        return [_resolve_foreach_fns(item) for item in node]
    if isinstance(node, dict):
        if "Fn::GetAtt" in node and isinstance(node["Fn::GetAtt"], list):
            name, attribute = node["Fn::GetAtt"]
            if isinstance(name, dict) and isinstance(name.get("Fn::Sub"), str) \
                    and "${" not in name["Fn::Sub"]:
                name = name["Fn::Sub"]
            return {"Fn::GetAtt": [name, attribute]}
        return {k: _resolve_foreach_fns(v) for k, v in node.items()}
    return node


def expand(template: Mapping[str, Any], parameters: Mapping[str, str] | None = None) -> dict:
    """Expand ``Fn::ForEach`` the way ``AWS::LanguageExtensions`` does, and drop that transform.

    :param parameters: parameter values (defaults fill the rest).
    """
    values = {**parameter_defaults(template), **(parameters or {})}
    out = copy.deepcopy(dict(template))
    for section in ("Conditions", "Resources", "Outputs"):
        if section in out:
            out[section] = _resolve_foreach_fns(_expand_section(out[section], values))
    transforms = out.get("Transform", [])
    if isinstance(transforms, str):
        transforms = [transforms]
    out["Transform"] = [t for t in transforms if t != "AWS::LanguageExtensions"]
    if len(out["Transform"]) == 1:
        out["Transform"] = out["Transform"][0]
    return out


# ---------------------------------------------------------------- throttles

#: The parameters that carry cloud/routes.py's per-robot throttles into MethodSettings.
THROTTLE_PARAMETERS = {("POST", "/robot/{name}/cmd"): ("RobotCommandRate", "RobotCommandBurst"),
                       ("GET", "/robot/{name}/status"): ("RobotStatusRate", "RobotStatusBurst")}


def throttle_parameters(robots: int) -> dict[str, str]:
    """Each per-robot route's throttle for ``robots`` robots, as stack parameters."""
    from cloud.routes import ROUTES

    values: dict[str, str] = {}
    for route in ROUTES:
        names = THROTTLE_PARAMETERS.get((route.method, route.path))
        if names is None:
            continue
        if route.throttle is None or not route.throttle.per_robot:
            raise TemplateError(f"{route.method} {route.path} has no per-robot throttle")
        rate, burst = names
        values[rate] = f"{route.throttle.rate * robots:g}"
        values[burst] = str(route.throttle.burst * robots)
    return values
