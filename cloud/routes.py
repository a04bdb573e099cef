"""The HTTP routes of the backend and the Lambda handler behind each.

This table is what API Gateway's resources say in ``template.yaml``; the local stack serves the
same routes with the same handlers, and a test keeps the two in step.

``auth`` says who API Gateway lets through before the handler runs:

- ``"api_key"``: the ``x-api-key`` header (the PyPortal); locally checked against ``MARS_API_KEY``.
- ``"user"``: a signed-in person (Cognito authorizer in AWS); locally ``Authorization: Bearer
  {ROBOT_API_TOKEN}``, turned into the same ``requestContext.authorizer.claims``.
- ``"none"``: open.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway resource path, e.g. "/robot/{name}/cmd"
    handler: str  # "module:function", the Lambda handler
    auth: str = "none"


ROUTES: tuple[Route, ...] = (
    Route("GET", "/mars", "cloud.mars.handler:lambda_handler", "api_key"),
    Route("GET", "/mars/image/{image_id}", "cloud.mars.handler:lambda_handler", "api_key"),
    Route("POST", "/robot/{name}/cmd", "cloud.robot.handler:command_handler", "user"),
    Route("POST", "/publish", "cloud.robot.handler:command_handler", "user"),
    Route("GET", "/robot/{name}/status", "cloud.robot.handler:status_handler", "user"),
)
