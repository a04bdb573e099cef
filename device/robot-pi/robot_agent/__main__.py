"""``robot-agent --config PATH [--simulate]``: run the agent until SIGTERM or SIGINT.

``robot-agent doctor [--config PATH] [--motors]`` checks the setup instead (:mod:`.doctor`).

Exit codes: 0 after a requested stop, 1 after an unhandled error (the motors were stopped
first; systemd restarts the service), 2 for a bad configuration or TLS material.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

from contracts.topics import Topics
from robot_agent import __version__
from robot_agent.agent import Agent
from robot_agent.camera import build_camera
from robot_agent.config import load
from robot_agent.drive import Drive, mock_factory
from robot_agent.errors import ConfigError, LinkError
from robot_agent.mqtt_link import PahoLink
from robot_agent.service import Notifier

log = logging.getLogger("robot_agent")


USAGE = """robot-agent [--config PATH] [--simulate]
       robot-agent doctor [--config PATH] [--simulate] [--motors]"""
COMMANDS = """commands:
  doctor    check the setup, one line each with the fix: config, certificates, DNS, TCP,
            TLS, the MQTT login, clock, GPIO, motor pins, camera, video channel
            (robot-agent doctor --help)"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="robot-agent", usage=USAGE, epilog=COMMANDS,
        description="Run the robot agent until SIGTERM or SIGINT (systemd runs it as "
                    "robot-agent.service).", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="/etc/robot-agent/config.toml", metavar="PATH",
                        help="the TOML config file (default: %(default)s)")
    parser.add_argument("--simulate", action="store_true",
                        help="mock GPIO pins instead of the real motors")
    parser.add_argument("--version", action="version", version=f"robot-agent {__version__}")
    return parser.parse_args(argv)


async def _run(agent: Agent) -> int:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, agent.request_stop)
    return await agent.run()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["doctor"]:
        from robot_agent import doctor

        return doctor.main(argv[1:])
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for noisy in ("aiortc", "aioice", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    drive = None
    try:
        config = load(args.config)
        logging.getLogger().setLevel(config.log_level)
        camera = build_camera(config.camera, config.name, simulate=args.simulate,
                              config_file=config.source)
        link = PahoLink(config.mqtt, config.name, Topics.for_robot(config.name))
        drive = Drive(config.motors, mock_factory() if args.simulate else None)
        agent = Agent(config, drive, link, camera, notifier=Notifier(),
                      state_dir=os.environ.get("STATE_DIRECTORY"))  # set by systemd
        return asyncio.run(_run(agent))
    except (ConfigError, LinkError) as exc:
        print(f"robot-agent: {exc}", file=sys.stderr)
        print("robot-agent: not restarting until this is fixed; `sudo robot-agent doctor` "
              "checks everything", file=sys.stderr)
        return 2
    except BaseException:
        log.exception("unhandled error; motors stopped")
        return 1
    finally:
        if drive is not None:
            drive.close()


if __name__ == "__main__":
    sys.exit(main())
