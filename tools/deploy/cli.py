"""``python -m tools.deploy``: deploy, destroy, revoke, status, outputs, cost.

Every AWS failure ends as one line on stderr (see :mod:`tools.deploy.errors`) and exit code 1;
a bad command-line value as one line and exit code 2.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tools.deploy import build, nasa_key, owners, provision, stack, state, template
from tools.deploy.errors import DeployError, NoRegion, UsageError, explain

ROOT = Path(__file__).resolve().parents[2]
# lower case and short: the stack name is part of bucket names and the Cognito domain
_STACK = re.compile(r"^[a-z][a-z0-9-]{0,49}$")
_ROBOT = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SessionFactory = Callable[..., Any]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.deploy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", required=True, help="CloudFormation stack name")
    common.add_argument("--region", help="AWS region (default: AWS_REGION / your profile's)")
    common.add_argument("--profile", help="AWS profile from ~/.aws/config")
    common.add_argument("--out", type=Path,
                        help="where device files go (default: out/deploy/<stack>)")

    deploy = sub.add_parser("deploy", parents=[common], help="build, deploy, provision")
    deploy.add_argument("--nasa-api-key", help="api.nasa.gov key, stored as an SSM SecureString "
                        "(kept from the last deploy when omitted)")
    deploy.add_argument("--robot", action="append", default=[], metavar="NAME",
                        help="a robot name (repeat for more; default: sts-pi or the last "
                        "deploy's)")
    deploy.add_argument("--alarm-email", help="e-mail address for alarm notifications")
    deploy.add_argument("--owner", action="append", default=[], metavar="[ROBOT=]EMAIL",
                        help="who may drive and watch ROBOT (every robot of this deploy when "
                        "no ROBOT= is given); invited by e-mail if new; repeat for more")
    deploy.add_argument("--csr", action="append", default=[], metavar="ROBOT=FILE",
                        help="the certificate signing request install.sh --csr made on the "
                        "robot (its key stays there); IoT Core signs it")
    deploy.add_argument("--mfa", choices=["off", "optional"],
                        help="let drivers add an authenticator app (TOTP) to their sign-in")
    deploy.add_argument("--deployment", choices=["Canary10Percent5Minutes", "AllAtOnce",
                        "Canary10Percent10Minutes", "Linear10PercentEvery1Minute"],
                        help="how new Lambda versions take traffic (default: canary)")
    deploy.add_argument("--dry-run", action="store_true",
                        help="build the artifacts and the packaged template; call no AWS API")
    deploy.add_argument("--skip-deps", action="store_true",
                        help="with --dry-run only: an empty layer instead of pip-installing it")
    deploy.add_argument("--wheelhouse", type=Path,
                        help="install the layer from this folder of wheels, offline")

    deploy.add_argument("--yes", action="store_true",
                        help="execute the change set without asking (for scripts)")
    revoke = sub.add_parser("revoke", parents=[common],
                            help="take robots away from a person now, and sign them out")
    revoke.add_argument("--user", required=True, metavar="EMAIL", help="the person")
    revoke.add_argument("--robot", action="append", default=[], metavar="NAME",
                        help="only this robot (repeat for more); without it: every robot, and "
                        "the person is disabled")
    destroy = sub.add_parser("destroy", parents=[common],
                             help="empty the buckets, release certificates, delete the stack")
    destroy.add_argument("--yes", action="store_true",
                         help="delete without asking for the stack name (for scripts)")
    cost = sub.add_parser("cost", help="the monthly bill, from the template and a usage model")
    cost.add_argument("--pyportals", type=int, default=1, help="PyPortals (default 1)")
    cost.add_argument("--robots", type=int, default=1, help="robots (default 1)")
    cost.add_argument("--drive-hours", type=float, default=1.0,
                      help="hours a day each robot is driven (default 1)")
    cost.add_argument("--http-share", type=float, default=0.0,
                      help="share of driving without the video data channel (default 0)")
    cost.add_argument("--turn-share", type=float, default=0.2,
                      help="share of video relayed through TURN (an assumption; default 0.2)")
    cost.add_argument("--idle-page-hours", type=float, default=0.0,
                      help="hours a day a page stays open on a robot without video (default 0)")
    sub.add_parser("status", parents=[common], help="the stack's status")
    sub.add_parser("outputs", parents=[common], help="the stack's outputs")
    return parser


def _validate(args: argparse.Namespace) -> None:
    if not _STACK.match(args.stack):
        raise UsageError(f"--stack {args.stack!r}: use up to 50 lower-case letters, digits and "
                         "'-', starting with a letter")
    robots = getattr(args, "robot", [])
    for name in robots:
        if not _ROBOT.match(name):
            raise UsageError(f"--robot {name!r}: use letters, digits, '-' and '_'")
    squashed = [re.sub("[^0-9A-Za-z]", "", n) for n in robots]
    if len(set(squashed)) != len(squashed) or len(set(robots)) != len(robots):
        raise UsageError("--robot names must differ in more than '-' and '_'")
    if args.command == "deploy" and args.skip_deps and not args.dry_run:
        raise UsageError("--skip-deps only goes with --dry-run: a stack without its layer "
                         "would fail on every request")
    email = getattr(args, "alarm_email", None)
    if email and not _EMAIL.match(email):
        raise UsageError(f"--alarm-email {email!r} is not an e-mail address")
    if args.command == "revoke" and not _EMAIL.match(args.user):
        raise UsageError(f"--user {args.user!r} is not an e-mail address")
    for value in getattr(args, "owner", []):
        robot, _, email = value.rpartition("=")
        if not _EMAIL.match(email) or (robot and robot not in robots and robots):
            raise UsageError(f"--owner {value!r}: give ROBOT=EMAIL with a robot of --robot, or "
                             "EMAIL for every robot")
    for value in getattr(args, "csr", []):
        robot, sep, path = value.partition("=")
        if not sep or not _ROBOT.match(robot) or not path:
            raise UsageError(f"--csr {value!r}: give ROBOT=FILE, the .csr install.sh --csr made")
        if robots and robot not in robots:
            raise UsageError(f"--csr {value!r}: {robot} is not one of --robot")


class Aws:
    """The boto3 clients of one session, created on first use."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.region = session.region_name
        if not self.region:
            raise NoRegion("no AWS region: pass --region (e.g. --region eu-west-1) or set "
                           "AWS_REGION")
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.region)
        return self._clients[service]


def dry_run(args: argparse.Namespace, out: Path, emit: Callable[[str], None]) -> int:
    started = time.perf_counter()
    artifacts = build.build_all(out / "build", skip_deps=args.skip_deps,
                                wheelhouse=args.wheelhouse)
    bucket = f"{args.stack}-artifacts-UNGUESSABLE"  # named at the real deploy
    source = template.load()
    locations = {a.name: (bucket, f"{args.stack}/{a.key}") for a in artifacts.values()}
    packaged = template.package(source, locations)
    (out / "packaged.json").write_text(template.to_json(packaged))
    robots = ",".join(args.robot) or template.parameter_defaults(source)["RobotNames"]
    expanded = template.expand(packaged, {"RobotNames": robots})
    (out / "expanded.json").write_text(template.to_json(expanded))
    for artifact in artifacts.values():
        emit(f"{artifact.name}: {artifact.path} {artifact.size / 2**20:.2f} MB zipped, "
             f"{artifact.unzipped / 2**20:.1f} MB unzipped")
    emit(f"packaged template: {out / 'packaged.json'} ({len(expanded['Resources'])} resources "
         f"for robots {robots} before the SAM transform, which adds their roles, permissions, "
         "aliases and deployment groups)")
    emit(f"dry run done in {time.perf_counter() - started:.1f} s; nothing was sent to AWS")
    return 0


def _owners(args: argparse.Namespace, robots: list[str]) -> list[tuple[str, str]]:
    """``(robot, email)`` pairs from ``--owner``."""
    pairs: list[tuple[str, str]] = []
    for value in args.owner:
        robot, _, email = value.rpartition("=")
        if robot and robot not in robots:
            raise UsageError(f"--owner {value!r}: {robot} is not one of this stack's robots "
                             f"({', '.join(robots)})")
        pairs += [(robot, email)] if robot else [(name, email) for name in robots]
    return pairs


def deploy(args: argparse.Namespace, aws: Aws, out: Path, emit: Callable[[str], None],
           confirm: stack.Confirm | None, sleep: Callable[[float], None] = time.sleep) -> int:
    account = aws("sts").get_caller_identity()["Account"]
    emit(f"account {account}, region {aws.region}, stack {args.stack}")
    csrs = {robot: provision.read_csr(Path(path), robot)
            for robot, _, path in (v.partition("=") for v in args.csr)}
    artifacts = build.build_all(out / "build", wheelhouse=args.wheelhouse, emit=emit)
    bucket = state.artifact_bucket(out, args.stack, account, aws.region)
    stack.ensure_bucket(aws("s3"), bucket, aws.region, account, emit)
    locations = stack.upload_artifacts(aws("s3"), bucket, args.stack, artifacts.values(),
                                       account, emit)
    source = template.load()
    body = template.to_json(template.package(source, locations))
    url = stack.upload_template(aws("s3"), bucket, args.stack, body, aws.region, account)
    endpoints = provision.iot_endpoints(aws("iot"))
    cfn = aws("cloudformation")
    before = stack.describe(cfn, args.stack) or {}
    was = _robot_names(before)
    robots = args.robot or was or [template.parameter_defaults(source)["RobotNames"]]
    pairs = _owners(args, robots)
    parameters = {
        "RobotNames": ",".join(robots),
        "NasaApiKeyParameter": nasa_key.store(aws("ssm"), args.stack, args.nasa_api_key, emit),
        "AlarmEmail": args.alarm_email,
        "DeploymentType": args.deployment,
        "IotDataEndpoint": endpoints["data"],
        "Mfa": args.mfa.upper() if args.mfa else None,
        **template.throttle_parameters(len(robots)),
    }
    removed = [name for name in was if name not in robots]

    def release_removed() -> None:
        # a thing with a certificate attached cannot be deleted: the update would fail
        if removed:
            policy = {o["OutputKey"]: o["OutputValue"]
                      for o in before.get("Outputs", [])}.get("RobotPolicyName")
            count = provision.release_robots(aws("iot"), removed, policy)
            emit(f"released {count} certificate(s) of removed robot(s) {', '.join(removed)}")

    stack.deploy(cfn, args.stack, url, parameters, emit, sleep=sleep,
                 tags=dict([stack.PROJECT_TAG]),
                 capabilities=stack.capabilities(template.expand(source)), confirm=confirm,
                 before_execute=release_removed)
    described = stack.describe(cfn, args.stack) or {}
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    values = {p["ParameterKey"]: p.get("ParameterValue") for p in described.get("Parameters", [])}
    robots = _robot_names(described)
    legacy = values.get("LegacyActionTopic") == "Enabled"

    settings = provision.provision_pyportal(aws("apigateway"), outputs, out)
    emit(f"PyPortal: {settings} (add your Wi-Fi and copy it to CIRCUITPY, or run `python -m "
         f"tools.circuitpy install --api-url {outputs['WebUrl'].rstrip('/')} --api-key "
         "<MARS_API_KEY from that file> --ssid ...`, which asks for the Wi-Fi password)")
    for name in robots:
        files = provision.provision_robot(aws("iot"), name, outputs, endpoints, aws.region, out,
                                          legacy, csrs.get(name))
        if files.bundle is None:
            emit(f"robot {name}: no certificate yet. On its Pi, in device/robot-pi: "
                 f"{files.install_command}; copy the .csr it names here and deploy again with "
                 f"--csr {name}=<that file>")
            continue
        kept = "new certificate" if files.created else "kept its certificate"
        emit(f"robot {name}: {files.bundle} ({kept}); copy it to the Pi and run, in "
             f"device/robot-pi: {files.install_command}")
    for robot, email in pairs:
        owners.add_owner(aws("cognito-idp"), outputs["UserPoolId"], robot, email, emit)
    if (provision.WEB_ROOT / "index.html").is_file():
        config = provision.web_config(outputs, aws.region, robots)
        uploaded = provision.publish_web(aws("s3"), aws("cloudfront"), outputs, config, account)
        emit(f"web page: {len(uploaded) - 1} changed file(s) uploaded, config.json written")
    _print_outputs(outputs, emit)
    emit(f"IotDataEndpoint = {endpoints['data']}")
    emit(f"IotCredentialsEndpoint = {endpoints['credentials']}")
    return 0


def _robot_names(described: dict[str, Any]) -> list[str]:
    values = {p["ParameterKey"]: p.get("ParameterValue") for p in described.get("Parameters", [])}
    return [r.strip() for r in (values.get("RobotNames") or "").split(",") if r.strip()]


def revoke(args: argparse.Namespace, aws: Aws, emit: Callable[[str], None]) -> int:
    described = stack.describe(aws("cloudformation"), args.stack)
    if described is None:
        raise DeployError(f"stack {args.stack} does not exist")
    stack.check_ours(described)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    roles = {name: outputs.get(f"ViewerRole{re.sub('[^0-9A-Za-z]', '', name)}Arn", "")
             for name in _robot_names(described)}
    try:
        owners.revoke(aws("cognito-idp"), aws("iam"), outputs["UserPoolId"], args.user,
                      args.robot or None, roles, emit)
    except LookupError as exc:
        raise DeployError(str(exc)) from None
    emit("an open video connection of theirs lasts until it closes (it runs peer to peer)")
    return 0


def _print_outputs(outputs: dict[str, str], emit: Callable[[str], None]) -> None:
    for key in sorted(outputs):
        emit(f"{key} = {outputs[key]}")


def _destroy_plan(cfn: Any, name: str) -> tuple[list[str], list[str], int]:
    """The buckets to empty and robots to release: only those that are the stack's own."""
    found = stack.resources(cfn, name)
    own = {r.get("PhysicalResourceId") for r in found}
    outputs = stack.outputs(cfn, name)
    buckets = [outputs[key] for key in ("WebBucketName", "MarsStoreBucketName")
               if outputs.get(key) in own]
    things = sorted(r["PhysicalResourceId"] for r in found
                    if r.get("ResourceType") == "AWS::IoT::Thing" and r.get("PhysicalResourceId"))
    return buckets, things, len(found)


def destroy(args: argparse.Namespace, aws: Aws, emit: Callable[[str], None],
            ask: Callable[[str], str], sleep: Callable[[float], None] = time.sleep) -> int:
    cfn = aws("cloudformation")
    described = stack.describe(cfn, args.stack)
    if described is None:
        emit(f"stack {args.stack} does not exist: nothing to remove")
        return 0
    stack.check_ours(described)
    buckets, things, count = _destroy_plan(cfn, args.stack)
    emit(f"destroy will delete stack {args.stack} in {aws.region} ({count} resources), after:")
    for bucket in buckets:
        emit(f"  emptying s3://{bucket}")
    for thing in things:
        emit(f"  detaching, deactivating and deleting the certificates of robot {thing}")
    emit("  (the artifact bucket, the local files under out/deploy/, the user pool with the "
         "drivers' accounts, and the account's API Gateway log role stay)")
    if not args.yes and ask(f"type the stack name ({args.stack}) to delete it: ").strip() \
            != args.stack:
        raise stack.Declined(f"stack {args.stack} was not deleted")
    account = aws("sts").get_caller_identity()["Account"]
    for bucket in buckets:
        stack.empty_bucket(aws("s3"), bucket, account, emit)
    outputs = stack.outputs(cfn, args.stack)
    released = provision.release_robots(aws("iot"), things, outputs.get("RobotPolicyName"))
    emit(f"released {released} robot certificate(s)")
    stack.destroy(cfn, args.stack, emit, sleep=sleep)
    nasa_key.remove(aws("ssm"), args.stack, emit)
    kept = state.known_artifact_bucket(args.out or ROOT / "out" / "deploy" / args.stack,
                                       account, aws.region)
    emit(f"stack {args.stack} removed" + (f"; the artifact bucket s3://{kept} stays for a "
                                          "redeploy" if kept else ""))
    return 0


def _cost(args: argparse.Namespace, emit: Callable[[str], None]) -> int:
    from tools.deploy import cost

    if not (0 <= args.pyportals <= 10000 and 1 <= args.robots <= 1000
            and 0 <= args.drive_hours <= 24 and 0 <= args.http_share <= 1
            and 0 <= args.turn_share <= 1 and 0 <= args.idle_page_hours <= 24):
        print("error: expected 0-10000 PyPortals, 1-1000 robots, 0-24 drive and page hours "
              "and shares of 0-1", file=sys.stderr)
        return 2
    emit(cost.report(cost.Usage(pyportals=args.pyportals, robots=args.robots,
                                drive_hours=args.drive_hours, fallback_share=args.http_share,
                                turn_share=args.turn_share,
                                idle_page_hours=args.idle_page_hours)))
    return 0


def _ask_terminal(question: str) -> str:
    return input(question)


def _confirmer(ask: Callable[[str], str]) -> stack.Confirm:
    return lambda question: ask(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def main(argv: Sequence[str] | None = None, session_factory: SessionFactory | None = None,
         emit: Callable[[str], None] = print, ask: Callable[[str], str] | None = None,
         sleep: Callable[[float], None] = time.sleep) -> int:
    """:param ask: reads the answer to a question (``input`` on a terminal); tests pass one.
    :param sleep: how the stack's events are polled; tests pass one that does not wait.
    """
    args = _parser().parse_args(argv)
    if args.command == "cost":
        return _cost(args, emit)
    try:
        _validate(args)
        asks = args.command == "destroy" or (args.command == "deploy" and not args.dry_run)
        if ask is None and asks and not getattr(args, "yes", False):
            if not sys.stdin.isatty():
                raise UsageError(f"{args.command} asks before it changes anything; pass --yes "
                                 "to run it without a terminal")
            ask = _ask_terminal
        out = args.out or ROOT / "out" / "deploy" / args.stack
        if args.command == "deploy" and args.dry_run:
            return dry_run(args, out, emit)
        if session_factory is None:
            import boto3  # here: a usage error or a dry run answers without loading it

            session_factory = boto3.Session
        aws = Aws(session_factory(profile_name=args.profile, region_name=args.region))
        if args.command == "deploy":
            return deploy(args, aws, out, emit, None if args.yes or ask is None
                          else _confirmer(ask), sleep)
        if args.command == "destroy":
            return destroy(args, aws, emit, ask or _ask_terminal, sleep)
        if args.command == "revoke":
            return revoke(args, aws, emit)
        cfn = aws("cloudformation")
        if args.command == "status":
            emit(f"{args.stack}: {stack.stack_status(cfn, args.stack) or 'does not exist'}")
            return 0
        _print_outputs(stack.outputs(cfn, args.stack), emit)
        return 0
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (DeployError, ClientError, BotoCoreError) as exc:
        print(f"error: {explain(exc)}", file=sys.stderr)
        return 1
