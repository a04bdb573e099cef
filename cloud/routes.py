"""The HTTP routes of the backend and the Lambda handler behind each.

This table is what API Gateway's resources say in ``template.yaml``; the local stack serves the
same routes with the same handlers, and a test keeps the two in step.

``auth`` says who API Gateway lets through before the handler runs:

- ``"api_key"``: the ``x-api-key`` header (the PyPortal); locally checked against ``MARS_API_KEY``.
- ``"user"``: a signed-in person (Cognito authorizer in AWS); locally ``Authorization: Bearer
  {ROBOT_API_TOKEN}``, turned into the same ``requestContext.authorizer.claims``.
- ``"none"``: open.

``throttle`` is API Gateway's method throttle for the route (``MethodSettings`` in the template):
requests a second, steady and in a burst. A robot route's is per robot, since each robot has its
own driver: ``deploy`` multiplies it by the number of robots. The command route is sized for a
joystick over HTTP (``cloud/web/drive.js``: a changed command every 50 ms at most, and the held
one repeated every 150 ms: about 27 a second); the status route for the pages watching one robot
(one read a second each while driving without the video connection, at most 10 viewers).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Throttle:
    rate: float  # requests a second, steady
    burst: int
    per_robot: bool = False  # multiplied by the number of robots


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway resource path, e.g. "/robot/{name}/cmd"
    handler: str  # "module:function", the Lambda handler
    auth: str = "none"
    throttle: Throttle | None = None  # None: the stage's default (DEFAULT_THROTTLE)


#: Every other method: the Mars routes past CloudFront's cache (the device usage plan bounds
#: each key too).
DEFAULT_THROTTLE = Throttle(20, 40)
JOYSTICK = Throttle(30, 60, per_robot=True)

ROUTES: tuple[Route, ...] = (
    Route("GET", "/mars", "cloud.mars.handler:lambda_handler", "api_key"),
    Route("GET", "/mars/image/{image_id}", "cloud.mars.handler:lambda_handler", "api_key"),
    Route("POST", "/robot/{name}/cmd", "cloud.robot.handler:command_handler", "user", JOYSTICK),
    Route("POST", "/publish", "cloud.robot.handler:command_handler", "user", Throttle(30, 60)),
    Route("GET", "/robot/{name}/status", "cloud.robot.handler:status_handler", "user",
          Throttle(10, 20, per_robot=True)),
)
