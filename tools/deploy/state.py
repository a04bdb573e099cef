"""What the deploy tool remembers between runs, in ``out/deploy/<stack>/state.json`` (0600).

Only the artifact bucket's name lives here: it ends in a random suffix so that nobody can
create it first in their own account and receive the code CloudFormation runs with IAM rights.
Losing the file is harmless: the next deploy picks a new name (the old bucket's artifacts
expire after 90 days).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.deploy import provision, stack
from tools.deploy.errors import DeployError

FILE = "state.json"


def _read(out: Path) -> dict[str, Any]:
    path = out / FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DeployError(f"{path} is unreadable ({exc}); fix or delete it") from None
    return data if isinstance(data, dict) else {}


def artifact_bucket(out: Path, stack_name: str, account: str, region: str) -> str:
    """The artifact bucket for this stack, account and region: remembered, or newly named."""
    data = _read(out)
    buckets = data.setdefault("artifact_buckets", {})
    where = f"{account}/{region}"
    if not isinstance(buckets.get(where), str):
        buckets[where] = stack.new_artifact_bucket_name(stack_name)
        provision.write_private(out / FILE, json.dumps(data, indent=1, sort_keys=True) + "\n")
    return str(buckets[where])


def known_artifact_bucket(out: Path, account: str, region: str) -> str | None:
    """The remembered bucket, if any (``destroy`` names it so the person can remove it)."""
    value = _read(out).get("artifact_buckets", {}).get(f"{account}/{region}")
    return value if isinstance(value, str) else None
