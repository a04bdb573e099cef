"""Errors of the robot API, each with the HTTP status and code it answers with
(:mod:`cloud.api_errors`)."""

from cloud.errors import HttpError


class RobotApiError(HttpError):
    """Base of the robot API's errors."""


class BadCommand(RobotApiError, ValueError):
    """The request body is not a valid command (400); nothing was published."""

    status = 400
    code = "BAD_COMMAND"


class Unauthenticated(RobotApiError, PermissionError):
    """No signed-in user in the request (401)."""

    status = 401
    code = "UNAUTHORIZED"


class UnknownRobot(RobotApiError, LookupError):
    """The robot name is not in ``ROBOT_NAMES`` (404)."""

    status = 404
    code = "UNKNOWN_ROBOT"


class PublishFailed(RobotApiError, ConnectionError):
    """The message broker did not take the command (503); the client may retry."""

    status = 503
    code = "PUBLISH_FAILED"


class Forbidden(RobotApiError, PermissionError):
    """The signed-in person does not own this robot (403); nothing was published."""

    status = 403
    code = "FORBIDDEN"
