"""Where metadata and bitmaps live: a directory on the laptop, a private S3 bucket in AWS.

Keys are relative paths such as ``meta/weather.json`` or ``bmp/<hash>.bmp``. The S3 store never
sets an ACL (buckets created since 2023 refuse public ACLs anyway); devices get a presigned GET
URL instead.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any, Protocol

from cloud.mars.errors import MarsError

_KEY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class StoreError(MarsError, OSError):
    """The store could not be read or written."""


def check_key(key: str) -> str:
    if not _KEY.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"invalid store key {key!r}")
    return key


class Store(Protocol):
    """Bytes by key."""

    def get(self, key: str) -> bytes | None:
        """The object, or ``None`` when it does not exist. :raises StoreError:"""
        ...

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write (or replace) an object atomically. :raises StoreError:"""
        ...

    def url(self, key: str, expires_s: int) -> str | None:
        """A URL a device can GET the object from, or ``None`` when the API serves it."""
        ...


class LocalStore:
    """A directory; writes go through a temporary file and a rename, so readers never see half
    an object."""

    def __init__(self, root: str | os.PathLike, max_bitmap_bytes: int = 64 * 1024 * 1024) -> None:
        self.root = Path(root)
        self.max_bitmap_bytes = max_bitmap_bytes

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            # A symlink planted in the data directory is not followed (O_NOFOLLOW on the file,
            # and no directory on the way may be one either).
            if any((self.root / p).is_symlink() for p in path.relative_to(self.root).parents
                   if p != Path(".")):
                return None
            # O_NONBLOCK: a FIFO planted there must not block the read forever
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # the file itself is a symlink
                return None
            raise StoreError(f"cannot read {key} from {self.root}: {exc}") from exc
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                return None  # a directory (or a FIFO, a device) where an object belongs: none
            with os.fdopen(fd, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise StoreError(f"cannot read {key} from {self.root}: {exc}") from exc
        if key.startswith("bmp/"):
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: evicted last
        return data

    def _evict_bitmaps(self) -> None:
        """Keep ``bmp/`` under ``max_bitmap_bytes``, least recently used first (S3 has a
        lifecycle rule; a laptop's disk has this)."""
        folder = self.root / "bmp"
        try:
            files = [(f.stat().st_mtime, f.stat().st_size, f) for f in folder.iterdir()
                     if f.is_file() and not f.name.startswith(".")]
        except OSError:
            return
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bitmap_bytes:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError as exc:
            raise StoreError(f"cannot write {key} to {self.root}: {exc}") from exc
        if key.startswith("bmp/"):
            self._evict_bitmaps()

    def url(self, key: str, expires_s: int) -> str | None:
        return None

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"


class S3Store:
    """A private S3 bucket (optionally under a prefix), read by devices through presigned URLs.

    :param client: a boto3 S3 client (built on first use when omitted).
    """

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # only in AWS: keeps the local stack's start fast

            self._client = boto3.client("s3")
        return self._client

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def get(self, key: str) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return answer["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise StoreError(f"cannot read s3://{self.bucket}/{self._key(key)}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"cannot read s3://{self.bucket}/{self._key(key)}: {exc}") from exc

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            # No ACL argument: the bucket stays private (object ownership: bucket owner).
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data,
                                   ContentType=content_type)
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"cannot write s3://{self.bucket}/{self._key(key)}: {exc}") from exc

    def url(self, key: str, expires_s: int) -> str | None:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)},
            ExpiresIn=expires_s)

    def __repr__(self) -> str:
        return f"S3Store({self.bucket!r}, {self.prefix!r})"


def open_store(spec: str) -> LocalStore | S3Store:
    """``s3://bucket[/prefix]`` -> :class:`S3Store`; anything else is a directory."""
    if spec.startswith("s3://"):
        bucket, _, prefix = spec[len("s3://"):].partition("/")
        if not bucket:
            raise ValueError(f"MARS_STORE={spec!r} names no bucket")
        return S3Store(bucket, prefix)
    return LocalStore(spec)
