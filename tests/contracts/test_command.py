"""One command schema, three validators: the API's request model (API Gateway validates with
JSON Schema draft 4; ``jsonschema``'s Draft4Validator stands in for it), the Lambda
(``cloud.robot.commands``) and the robot agent (``robot_agent.commands``) judge every case of
``testing/data/cases/command.json`` alike."""

from __future__ import annotations

import json
import zipfile

import jsonschema
import pytest
from robot_agent import commands as agent_commands
from robot_agent.config import CommandLimits
from robot_agent.errors import BadCommand as AgentBadCommand

from cloud.robot import commands as cloud_commands
from cloud.robot.errors import BadCommand
from contracts import command as contract
from testing.data import load
from tools.deploy import build, template

CASES = load("cases/command.json")
COMMANDS = [(body, True) for body in CASES["command"]["valid"]] + \
    [(body, False) for body in CASES["command"]["invalid"]]
LEGACY = [(body, True) for body in CASES["legacy"]["valid"]] + \
    [(body, False) for body in CASES["legacy"]["invalid"]]


@pytest.fixture(scope="module")
def models():
    return template.load()["Resources"]["Api"]["Properties"]["Models"]


def model_accepts(model: dict, body: dict) -> bool:
    jsonschema.Draft4Validator.check_schema(model)
    return jsonschema.Draft4Validator(model).is_valid(body)


def lambda_accepts(body: dict, legacy: bool = False) -> bool:
    raw = json.dumps(body)  # through the handler's own reading of the body
    try:
        cloud_commands.validate(cloud_commands.read_body(raw), legacy=legacy)
    except BadCommand:
        return False
    return True


def agent_accepts(body: dict) -> bool:
    payload = {"id": "c1", "seq": 1, "issued_ms": 0, **body}
    try:
        agent_commands.parse(json.dumps(payload).encode(), CommandLimits())
    except AgentBadCommand:
        return False
    return True


@pytest.mark.parametrize("body,valid", COMMANDS, ids=[json.dumps(b) for b, _ in COMMANDS])
def test_the_model_the_lambda_and_the_agent_agree(body, valid, models):
    assert (model_accepts(models["RobotCommand"], body), lambda_accepts(body),
            agent_accepts(body)) == (valid, valid, valid)


@pytest.mark.parametrize("body,valid", LEGACY, ids=[json.dumps(b) for b, _ in LEGACY])
def test_the_legacy_publish_body_agrees_too(body, valid, models):
    assert (model_accepts(models["PublishCommand"], body),
            lambda_accepts(body, legacy=True)) == (valid, valid)


def test_the_template_carries_the_schema_file_itself(models):
    on_disk = contract.schema()
    assert models["RobotCommand"] == {k: v for k, v in on_disk.items() if k != "definitions"}
    assert models["PublishCommand"] == on_disk["definitions"]["legacy"]
    assert models["RobotCommand"]["additionalProperties"] is False
    assert models["PublishCommand"]["additionalProperties"] is False


def test_the_lambda_package_carries_the_contracts_package(tmp_path):
    root = contract.__file__.removesuffix("command.py")
    with zipfile.ZipFile(build.build_code(tmp_path).path) as code:
        names = set(code.namelist())
        for name in ("__init__.py", "command.py", "command.schema.json", "refusals.py",
                     "safejson.py", "topics.py", "errors.py"):
            with open(root + name, "rb") as source:
                assert code.read(f"contracts/{name}") == source.read()
        assert not any(n.startswith("cloud/robot/") and n.endswith(".json") for n in names)


@pytest.mark.parametrize("body,message", [
    ({"action": "drive", "left": 0.5}, "action 'drive' needs left and right"),
    ({"action": "forward", "left": 0.5}, "action 'forward' takes speed"),
    ({"action": "fly"}, "action must be one of forward"),
    ({"action": "forward", "speed": 2}, "speed must be between 0 and 1"),
    ({"action": "forward", "colour": "red"}, "unknown field 'colour'"),
    ({"speed": 0.5}, "action is required"),
])
def test_refusals_name_the_field_from_the_schema(body, message):
    with pytest.raises(BadCommand, match=message):
        cloud_commands.validate(body)


# Without an action the robot does not take it for a command at all (it ignores it quietly).
WORDED = [b for b in CASES["command"]["invalid"] if isinstance(b, dict) and "action" in b]


@pytest.mark.parametrize("body", WORDED, ids=[json.dumps(b) for b in WORDED])
def test_the_lambda_and_the_agent_refuse_in_the_same_words(body):
    """The page shows whichever answered (the API, or the robot over the data channel)."""
    try:
        cloud_commands.validate(cloud_commands.read_body(json.dumps(body)))
    except BadCommand as exc:
        said_by_the_api = str(exc)
    try:
        agent_commands.parse(json.dumps({"id": "c1", "seq": 1, "issued_ms": 0, **body}).encode(),
                             CommandLimits())
    except AgentBadCommand as exc:
        said_by_the_robot = exc.detail
    assert said_by_the_robot == said_by_the_api


def test_not_a_number_is_refused_everywhere():
    assert not lambda_accepts({"action": "forward"} | {"speed": float("nan")})
    assert not agent_accepts({"action": "forward", "speed": float("nan")})
