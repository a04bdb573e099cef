"""The registry of local-stack components, in start order.

Each entry names the class that implements it; modules are imported only when selected, so a
subset (``--only broker,api``) does not pay for the rest.
"""

from __future__ import annotations

import importlib

from tools.stack.component import Component

REGISTRY: dict[str, str] = {
    "broker": "tools.stack.components.broker:BrokerComponent",
    "api": "tools.stack.components.api:ApiComponent",
    "web": "tools.stack.components.web:WebComponent",
    "robot": "tools.stack.components.robot:RobotComponent",
    "pyportal": "tools.stack.components.pyportal:PyPortalComponent",
}


class UnknownComponent(ValueError):
    pass


def load(name: str) -> Component:
    """Instantiate the component registered as ``name``."""
    try:
        target = REGISTRY[name]
    except KeyError:
        raise UnknownComponent(
            f"unknown component {name!r} in --only (choose from {', '.join(REGISTRY)})"
        ) from None
    module_name, class_name = target.split(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)()
