"""Benchmark of the deploy artifacts. Prints one JSON object.

* ``packages``: per Lambda function, the zipped size of its code package, of the shared
  dependency layer, and of both together (what a cold start downloads);
* ``handler_import_ms``: median time to import each handler module in a fresh interpreter
  (a cold-start proxy, measured on this machine, not on arm64 Lambda); ``null`` when the module
  does not exist yet;
* ``dry_run_build_s``: ``python -m tools.deploy deploy --dry-run`` with a cold layer cache (pip
  itself may still answer from its own download cache);
* ``monthly_usd``: ``python -m tools.deploy cost`` for the reference usage (1 PyPortal as
  deploy sets it up, 1 robot driven 1 h a day, no free tier), line by line and in total, and
  with every command over HTTP instead of the video data channel (``bench/cost_minute.py``
  prices fleets and checks the model against the local stack);
* ``targets``: each package <= 15 MB zipped, each handler import <= 300 ms, <= $1.00 a month.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.deploy import cost, template

ROOT = Path(__file__).resolve().parents[1]
RUNS = 3
MB = 1024 * 1024


def functions() -> dict[str, str]:
    """``{logical id: handler module}`` of every function in the template."""
    found = {}
    for logical_id, resource in template.load()["Resources"].items():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::Function":
            found[logical_id] = resource["Properties"]["Handler"].rsplit(".", 1)[0]
    return found


def import_ms(module: str, data_dir: str) -> float | None:
    env = {**os.environ, "MARS_STORE": data_dir, "AWS_REGION": "eu-west-1",
           "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_EC2_METADATA_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true",
           "POWERTOOLS_SERVICE_NAME": "bench", "POWERTOOLS_METRICS_NAMESPACE": "Bench",
           "PYTHONDONTWRITEBYTECODE": "1"}
    code = ("import time, importlib.util; t = time.perf_counter()\n"
            f"spec = importlib.util.find_spec({module!r})\n"
            "if spec is None: print('missing'); raise SystemExit\n"
            f"import {module}\n"
            "print((time.perf_counter() - t) * 1000)")
    samples = []
    for _ in range(RUNS):
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        out = done.stdout.strip().splitlines()
        if done.returncode != 0 or not out or out[-1] == "missing":
            return None
        samples.append(float(out[-1]))
    return round(statistics.median(samples), 1)


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "tools.deploy", "deploy", "--stack",
                               "bench", "--dry-run", "--out", tmp], cwd=ROOT,
                              capture_output=True, text=True, timeout=600)
        build_s = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(done.stderr.strip())
        code = (Path(tmp) / "build" / "code.zip").stat().st_size
        layer = (Path(tmp) / "build" / "layer.zip").stat().st_size
        handlers = functions()
        packages = {name: {"code_mb": round(code / MB, 3), "layer_mb": round(layer / MB, 2),
                           "total_mb": round((code + layer) / MB, 2)} for name in handlers}
        imports = {module: import_ms(module, tmp) for module in sorted(set(handlers.values()))}
    measured = [v for v in imports.values() if v is not None]
    lines = cost.estimate(cost.Usage())
    monthly = round(sum(line.usd for line in lines), 2)
    result = {
        "packages": packages,
        "handler_import_ms": imports,
        "dry_run_build_s": round(build_s, 2),
        "monthly_usd": {
            "reference": monthly,
            "lines": {line.item: round(line.usd, 3) for line in lines},
            "all_commands_over_http": round(cost.total(cost.Usage(fallback_share=1.0)), 2),
            "prices": cost.PRICES_DATE,
        },
        "targets": {
            "package_max_mb": 15,
            "package_ok": all(p["total_mb"] <= 15 for p in packages.values()),
            "import_max_ms": 300,
            "import_ok": bool(measured) and all(v <= 300 for v in measured),
            "imports_missing": [m for m, v in imports.items() if v is None],
            "monthly_max_usd": 1.00,
            "monthly_ok": monthly <= 1.00,
        },
    }
    return result


if __name__ == "__main__":
    print(json.dumps(main()))
