"""The scanners, in the suite: cfn-lint with its informational rules, and checkov, on the
template as CloudFormation receives it and on its SAM transform. Every finding is fixed or
suppressed in ``cloud/template.yaml`` with a one-line reason; a new one fails here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools.deploy import template

# make venv installs checkov into an environment of its own (it pins its own boto3)
CHECKOV = Path(sys.prefix) / "checkov" / "bin" / "checkov"
PARAMS = {"RobotNames": "sts-pi,rover_2", "AlarmEmail": "owner@example.com",
          "CustomMetrics": "Enabled", "LegacyActionTopic": "Enabled"}  # every optional part


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """``{"template": path, "transformed": path}`` as JSON files."""
    # imported here, not at the top: every test worker collects this file, one runs it
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    folder = tmp_path_factory.mktemp("scan")
    source = template.load()
    packaged = template.package(source, {"build/code": ("artifacts", "code-1.zip"),
                                         "build/layer": ("artifacts", "layer-1.zip")})
    session = boto3.Session(region_name="eu-west-1", aws_access_key_id="offline",
                            aws_secret_access_key="offline")
    transformed = Translator({}, Parser(), boto_session=session).translate(
        template.expand(packaged, PARAMS), PARAMS, get_managed_policy_map=lambda: {})
    paths = {"template": folder / "template.json", "transformed": folder / "transformed.json"}
    paths["template"].write_text(template.to_json(source))
    paths["transformed"].write_text(json.dumps(transformed, indent=1))
    return paths


@pytest.mark.parametrize("which", ["template", "transformed"])
def test_cfn_lint_with_informational_rules_finds_nothing(templates, which):
    from cfnlint.api import ManualArgs, lint

    config = ManualArgs(regions=["us-east-1", "eu-west-1", "ap-southeast-2"],
                        include_checks=["I"])
    found = [f"{m.rule.id} line {m.linenumber}: {m.message}"
             for m in lint(templates[which].read_text(), config=config)]
    assert found == []


def _skips(source: dict) -> list[tuple[str, str, str]]:
    """(resource, check id, reason) of every checkov suppression in the template."""
    found = []
    for name, resource in source["Resources"].items():
        if not isinstance(resource, dict):
            continue
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            found.append((name, skip["id"], skip.get("comment", "")))
    for skip in source.get("Metadata", {}).get("checkov-transformed", []):
        found.append((skip["resource"], skip["id"], skip.get("comment", "")))
    return found


def test_every_suppression_says_why_in_one_line():
    skips = _skips(template.load())
    assert skips
    for resource, check, reason in skips:
        assert len(reason) > 20 and "\n" not in reason, (resource, check)


@pytest.mark.slow
def test_checkov_finds_nothing_unsuppressed(templates):
    if not CHECKOV.exists():
        pytest.fail(f"checkov is not installed at {CHECKOV}: run `make venv`")
    done = subprocess.run([str(CHECKOV), "-f", str(templates["template"]), "-f",
                           str(templates["transformed"]), "--framework", "cloudformation",
                           "-o", "json", "--compact", "--quiet", "--skip-download"],
                          capture_output=True, text=True, timeout=600)
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    generated = {(s["resource"], s["id"])
                 for s in template.load().get("Metadata", {}).get("checkov-transformed", [])}
    failed = [f"{f['check_id']} {f['resource']} ({Path(f['file_path']).name}): "
              f"{f['check_name']}" for report in reports
              for f in report["results"]["failed_checks"]
              if (f["resource"].split(".", 1)[1], f["check_id"]) not in generated]
    assert failed == []
    assert sum(r["summary"]["passed"] for r in reports) > 100  # it really scanned both
