"""The agent's exception hierarchy: one base, mixed with builtins."""


class RobotError(Exception):
    """Base of every error the agent raises on purpose."""


class ConfigError(RobotError, ValueError):
    """The configuration is invalid; the message names the key and the file."""


class BadCommand(RobotError, ValueError):
    """A drive command was refused; nothing moved.

    :param reason: a short code (``"malformed"``, ``"too_large"``, ``"stale"`` ...).
    :param detail: a sentence for people.
    :param command_id: the command's ``id`` when it could be read.
    """

    def __init__(self, reason: str, detail: str, command_id: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.command_id = command_id


class LinkError(RobotError, ConnectionError):
    """The MQTT link cannot be set up (bad TLS material, unreachable address)."""


class NotACommand(BadCommand):
    """Valid JSON on a command topic that is no command (a status that leaked, a cleared
    retained message): ignored quietly, not reported."""
