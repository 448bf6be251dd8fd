"""A data area: a local directory or an S3 prefix (s3://bucket/prefix), addressed by relative paths.

Readers never see half a file: a local file is written under a hidden temporary name, fsynced and
renamed into place; an S3 object is written with one PUT, and S3 makes an object visible only whole.
Hidden temporary names (".<name>.<random>.tmp") left by a crashed writer are ignored by list().
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from dbshift.aws.clients import AwsConfig, client
from dbshift.errors import DbshiftError

S3_SCHEME = "s3://"
_DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


class AreaError(DbshiftError):
    pass


def _check_rel(rel: str) -> str:
    rel = rel.strip("/")
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..") for p in parts):
        raise AreaError(f"area path {rel!r} is not a plain relative path (no empty, '.' or '..' parts)")
    return rel


def _is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


class Area:
    """Files under a local directory or an S3 prefix. `location` is a path or s3://bucket[/prefix]."""

    def __init__(self, location: str | Path, aws: AwsConfig | None = None) -> None:
        loc = str(location)
        self.location = loc
        self._aws = aws
        self._s3: Any = None
        if loc.startswith(S3_SCHEME):
            bucket, _, prefix = loc[len(S3_SCHEME) :].partition("/")
            if not bucket:
                raise AreaError(f"area {loc!r}: no bucket; use s3://bucket/prefix")
            self.bucket: str | None = bucket
            self.prefix = prefix.strip("/")
            self.root: Path | None = None
        else:
            if not loc:
                raise AreaError("area location is empty; give a local directory or s3://bucket/prefix")
            self.bucket = None
            self.prefix = ""
            self.root = Path(loc).resolve()

    def __repr__(self) -> str:
        return f"Area({self.location!r})"

    def __getstate__(self) -> dict[str, Any]:  # boto3 clients do not pickle (Spark ships areas to tasks)
        return {**self.__dict__, "_s3": None}

    @property
    def is_s3(self) -> bool:
        return self.bucket is not None

    # ------------------------------------------------------------------ naming

    def _key(self, rel: str) -> str:
        rel = _check_rel(rel)
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def _path(self, rel: str) -> Path:
        assert self.root is not None
        return self.root / _check_rel(rel)

    def url(self, rel: str) -> str:
        """Where rel lives: s3://bucket/key, or the absolute local path."""
        if self.is_s3:
            return f"{S3_SCHEME}{self.bucket}/{self._key(rel)}"
        return str(self._path(rel))

    def local_path(self, rel: str) -> Path | None:
        """The local file of rel (None for S3): for readers that take a path (DuckDB, Spark, COPY)."""
        return None if self.is_s3 else self._path(rel)

    def _client(self) -> Any:
        if self._s3 is None:
            self._s3 = client("s3", self._aws)
        return self._s3

    # ------------------------------------------------------------------ writing

    def put_bytes(self, rel: str, data: bytes) -> None:
        if self.is_s3:
            self._client().put_object(Bucket=self.bucket, Key=self._key(rel), Body=data)
            return
        path = self._path(rel)
        tmp = self._temp_for(path)
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)

    def put_file(self, rel: str, src: str | Path, *, move: bool = False) -> None:
        """Store the file `src` at rel. move=True lets a local area rename src instead of copying it."""
        src = Path(src)
        if self.is_s3:
            # One PUT (not a multipart upload): the object appears whole or not at all.
            with open(src, "rb") as f:
                self._client().put_object(Bucket=self.bucket, Key=self._key(rel), Body=f)
            if move:
                src.unlink()
            return
        path = self._path(rel)
        tmp = self._temp_for(path)
        try:
            if move:
                try:
                    os.replace(src, tmp)  # same file system: no copy
                except OSError:
                    shutil.copyfile(src, tmp)
                    src.unlink()
            else:
                shutil.copyfile(src, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)

    def move(self, src_rel: str, dst_rel: str) -> None:
        """Rename a file inside the area (S3: copy then delete; the copy appears whole)."""
        if self.is_s3:
            s3 = self._client()
            s3.copy_object(
                Bucket=self.bucket,
                Key=self._key(dst_rel),
                CopySource={"Bucket": self.bucket, "Key": self._key(src_rel)},
            )
            s3.delete_object(Bucket=self.bucket, Key=self._key(src_rel))
            return
        dst = self._path(dst_rel)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(src_rel), dst)
        _fsync_dir(dst.parent)

    def _temp_for(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")

    # ------------------------------------------------------------------ reading

    def get_bytes(self, rel: str) -> bytes:
        if self.is_s3:
            s3 = self._client()
            try:
                return s3.get_object(Bucket=self.bucket, Key=self._key(rel))["Body"].read()
            except s3.exceptions.NoSuchKey:
                raise FileNotFoundError(f"{self.url(rel)} does not exist") from None
        try:
            return self._path(rel).read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.url(rel)} does not exist") from None

    def exists(self, rel: str) -> bool:
        if self.is_s3:
            s3 = self._client()
            try:
                s3.head_object(Bucket=self.bucket, Key=self._key(rel))
                return True
            except s3.exceptions.ClientError as e:
                if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise
        return self._path(rel).is_file()

    def size(self, rel: str) -> int:
        """Size in bytes of the file at rel."""
        if self.is_s3:
            return int(self._client().head_object(Bucket=self.bucket, Key=self._key(rel))["ContentLength"])
        return self._path(rel).stat().st_size

    def list(self, prefix: str = "") -> list[str]:
        """Relative paths of the files whose relative path starts with `prefix` (a string prefix), sorted."""
        if self.is_s3:
            base = f"{self.prefix}/" if self.prefix else ""
            out = []
            paginator = self._client().get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base + prefix):
                out += [o["Key"][len(base) :] for o in page.get("Contents", [])]
            return sorted(out)
        assert self.root is not None
        # Walk only the directory the prefix names, not the whole area.
        head = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / head if head else self.root
        if not start.is_dir():
            return []
        out = []
        for dirpath, _dirs, files in os.walk(start):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            for name in files:
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if rel.startswith(prefix) and not _is_temp(name):
                    out.append(rel)
        return sorted(out)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every file under `prefix` (fresh runs only); returns how many were deleted."""
        rels = self.list(prefix)
        if self.is_s3:
            s3 = self._client()
            for i in range(0, len(rels), _DELETE_BATCH):
                objs = [{"Key": self._key(r)} for r in rels[i : i + _DELETE_BATCH]]
                resp = s3.delete_objects(Bucket=self.bucket, Delete={"Objects": objs, "Quiet": True})
                if resp.get("Errors"):
                    err = resp["Errors"][0]
                    raise AreaError(f"cannot delete s3://{self.bucket}/{err['Key']}: {err['Message']}")
            return len(rels)
        assert self.root is not None
        dirs: set[Path] = set()
        for rel in rels:
            p = self._path(rel)
            p.unlink(missing_ok=True)
            dirs.update(q for q in p.parents if q != self.root and self.root in q.parents)
        for d in sorted(dirs, key=lambda q: len(q.parts), reverse=True):
            with contextlib.suppress(OSError):  # only empty ones: other files under them stay
                d.rmdir()
        return len(rels)


def _fsync_dir(path: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_area(location: str | Path, aws: AwsConfig | None = None) -> Area:
    """The Area at `location` (a local directory or s3://bucket/prefix)."""
    return Area(location, aws)
