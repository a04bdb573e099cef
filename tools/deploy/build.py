"""Build the Lambda artifacts for arm64: one code package and one dependency layer.

The code package is the ``cloud`` and ``contracts`` packages' Python modules and JSON
schemas, and only those git tracks when the tree is a git checkout (an untracked
``cloud/.env`` never ships). The layer holds the third-party packages the handlers import
(Pillow, Powertools with its two dependencies, urllib3, fastjsonschema), each pinned in
``pyproject.toml`` and installed with ``--no-deps`` so nothing unpinned comes along, by pip
for ``manylinux2014_aarch64`` / ``manylinux_2_28_aarch64`` and CPython 3.12 with
``--only-binary=:all:``: a build on macOS, Windows or x86_64 Linux gives the same bytes the
Lambda runtime needs. boto3 and botocore come with the runtime and are left out.

Both zips are reproducible (sorted entries, fixed timestamps): an unchanged source gives an
unchanged hash, hence an unchanged S3 key, hence a change set with nothing to do.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import threading
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.deploy.errors import BuildError

ROOT = Path(__file__).resolve().parents[2]
PYTHON_VERSION = "3.12"
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
# What the handlers import beyond the standard library and boto3, with every dependency of
# those (pinned in pyproject.toml; installed with --no-deps).
LAYER_PACKAGES = ("aws-lambda-powertools", "jmespath", "typing-extensions", "pillow", "urllib3",
                  "fastjsonschema")
# The packages the handlers import from this repository (contracts: shared with the robot).
CODE_PACKAGES = ("cloud", "contracts")
# What the code package may hold: the modules, and the schemas they load.
CODE_SUFFIXES = (".py", ".json")
# Installed as dependencies of the above but already in the Lambda runtime: 20+ MB saved.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
MAX_UNZIPPED = 250 * 1024 * 1024  # Lambda's limit for function + layers
TARGET_ZIPPED = 15 * 1024 * 1024  # this project's own budget per package
_EPOCH = (1980, 1, 1, 0, 0, 0)

Pip = Callable[[Sequence[str]], None]
Emit = Callable[[str], None]


@dataclass(frozen=True)
class Artifact:
    """One built zip: the template path it stands for, where it is, and what it holds."""

    name: str  # the local path the template names, e.g. "build/code"
    path: Path
    sha256: str
    size: int  # bytes, zipped
    unzipped: int

    @property
    def key(self) -> str:
        """The content-addressed S3 key: a new key only when the bytes change."""
        stem = self.name.rsplit("/", 1)[-1]
        return f"{stem}-{self.sha256[:16]}.zip"


def run_pip(args: Sequence[str], emit: Emit = print, every_s: float = 5.0) -> None:
    """The real pip, in this interpreter's environment, saying what it fetches as it goes
    (the first layer build downloads ~10 MB) and that it is still at work every *every_s*."""
    cmd = [sys.executable, "-m", "pip", *[a for a in args if a != "--quiet"]]
    started = time.monotonic()
    last = [started]
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(every_s):
            if time.monotonic() - last[0] >= every_s:
                emit(f"  pip still working ({time.monotonic() - started:.0f} s)")

    lines: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1) as proc:
        beat = threading.Thread(target=heartbeat, daemon=True)
        beat.start()
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            if line.startswith(("Collecting", "Downloading", "Installing", "Successfully")):
                emit(f"  {line.strip()}")
                last[0] = time.monotonic()
        done.set()
    if proc.returncode != 0:
        tail = " ".join(line for line in lines[-1:] if line)
        raise BuildError(f"pip could not fetch the arm64 packages for the layer: {tail}")


def layer_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The pinned requirement lines of :data:`LAYER_PACKAGES`, read from pyproject.toml."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    pins = {}
    for line in project["dependencies"]:
        name = line.split("==")[0].split("[")[0].strip().lower()
        pins[name] = line.strip()
    missing = [name for name in LAYER_PACKAGES if name not in pins]
    if missing:
        raise BuildError(f"pyproject.toml does not pin {', '.join(missing)} (needed by the "
                         "Lambda layer)")
    return [pins[name] for name in LAYER_PACKAGES]


def pip_arguments(requirements: Iterable[str], target: Path,
                  wheelhouse: Path | None = None) -> list[str]:
    """``pip install`` arguments for an arm64 CPython 3.12 target directory."""
    args = ["install", "--quiet", "--disable-pip-version-check", "--no-compile", "--no-deps",
            "--only-binary=:all:", "--implementation", "cp",
            "--python-version", PYTHON_VERSION, "--target", str(target)]
    for platform in PLATFORMS:
        args += ["--platform", platform]
    if wheelhouse is not None:
        args += ["--no-index", "--find-links", str(wheelhouse)]
    return [*args, *requirements]


def _tracked(root: Path) -> set[str] | None:
    """Paths git tracks (``None`` outside a git checkout, e.g. a tarball)."""
    try:
        done = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--", *CODE_PACKAGES],
                              capture_output=True, check=False, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return {name for name in done.stdout.decode().split("\0") if name}


def _code_files(root: Path) -> list[tuple[str, Path]]:
    tracked = _tracked(root)
    files = []
    for path in sorted(p for package in CODE_PACKAGES for p in (root / package).rglob("*")):
        rel = path.relative_to(root)
        parts = rel.parts
        if not path.is_file() or "__pycache__" in parts or path.suffix not in CODE_SUFFIXES:
            continue
        if parts[:2] == ("cloud", "web"):
            continue  # the web page goes to its own bucket
        if tracked is not None and rel.as_posix() not in tracked:
            continue  # a local experiment or secret, not part of the project
        files.append((rel.as_posix(), path))
    return files


def _layer_files(site: Path) -> list[tuple[str, Path]]:
    files = []
    for path in sorted(site.rglob("*")):
        rel = path.relative_to(site)
        top = rel.parts[0]
        dist = top.split("-")[0].lower().replace("_", "-")
        if not path.is_file() or "__pycache__" in rel.parts or top == "bin":
            continue
        if top in RUNTIME_PROVIDED or dist in RUNTIME_PROVIDED:
            continue
        files.append((f"python/{rel.as_posix()}", path))
    return files


def write_zip(dest: Path, files: Iterable[tuple[str, Path]]) -> tuple[int, int]:
    """A reproducible zip of *files* (``(archive name, path)``). Returns (zipped, unzipped)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    unzipped = 0
    tmp = dest.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in sorted(files):
            info = zipfile.ZipInfo(name, _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            executable = path.stat().st_mode & 0o111
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data)
    tmp.replace(dest)
    return dest.stat().st_size, unzipped


def _artifact(name: str, path: Path, unzipped: int) -> Artifact:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if unzipped > MAX_UNZIPPED:
        raise BuildError(f"{name} is {unzipped // 2**20} MB unzipped; Lambda allows 250 MB")
    return Artifact(name, path, digest, path.stat().st_size, unzipped)


def build_code(out: Path, root: Path = ROOT) -> Artifact:
    """Zip the ``cloud`` and ``contracts`` packages."""
    files = _code_files(root)
    for package in CODE_PACKAGES:
        if not any(name == f"{package}/__init__.py" for name, _ in files):
            raise BuildError(f"{root / package} is not the {package} package")
    path = out / "code.zip"
    _, unzipped = write_zip(path, files)
    return _artifact("build/code", path, unzipped)


def build_layer(out: Path, *, pip: Pip | None = None, wheelhouse: Path | None = None,
                requirements: Sequence[str] | None = None, emit: Emit = print) -> Artifact:
    """Install the layer's packages for arm64 and zip them under ``python/``.

    The zip is cached by the hash of the requirement lines, so a second build is instant.
    """
    requirements = list(requirements or layer_requirements())
    stamp = hashlib.sha256("\n".join([*requirements, *PLATFORMS, PYTHON_VERSION])
                           .encode()).hexdigest()[:16]
    cache = out / "cache" / f"layer-{stamp}.zip"
    path = out / "layer.zip"
    if not cache.exists():
        site = out / "layer-site"
        shutil.rmtree(site, ignore_errors=True)
        site.mkdir(parents=True)
        emit(f"installing the layer for arm64: {', '.join(requirements)}")
        (pip or (lambda args: run_pip(args, emit)))(pip_arguments(requirements, site, wheelhouse))
        write_zip(cache, _layer_files(site))
        shutil.rmtree(site, ignore_errors=True)
    shutil.copyfile(cache, path)
    with zipfile.ZipFile(path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    return _artifact("build/layer", path, unzipped)


def empty_layer(out: Path) -> Artifact:
    """A placeholder layer for ``--skip-deps`` (tests, template-only dry runs)."""
    marker = out / "layer-empty" / "README"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("built with --skip-deps: no third-party packages\n")
    path = out / "layer.zip"
    _, unzipped = write_zip(path, [("python/README", marker)])
    return _artifact("build/layer", path, unzipped)


def build_all(out: Path, *, skip_deps: bool = False, pip: Pip | None = None,
              wheelhouse: Path | None = None, emit: Emit = print) -> dict[str, Artifact]:
    """Every artifact the template names, keyed by its template path."""
    out.mkdir(parents=True, exist_ok=True)
    code = build_code(out)
    layer = empty_layer(out) if skip_deps else build_layer(out, pip=pip, wheelhouse=wheelhouse,
                                                           emit=emit)
    return {code.name: code, layer.name: layer}
