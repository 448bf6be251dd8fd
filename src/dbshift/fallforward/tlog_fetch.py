"""Fetch and decrypt the transaction-log copies RDS for SQL Server writes to S3.

Unlike the procedure's own script, this lists every page (not just the first 1,000 keys), orders by
the numeric seq id in the key (2 before 10), and keeps either [start_seq, end_seq], refusing a range
with a missing seq, or exactly an explicit list of seqs, refusing a listed seq with no object; either
refusal comes before anything is written. The list is for callers that know which seqs the database
has (its RDS metadata): RDS may number log backups per instance, so one database's seqs can have holes
that a range would call a gap. Objects are decrypted while they download, several at once, into
DIR/<object file name>.out.tmp, renamed to .out only after the padding check.

Re-entrant: next to each .out a small sidecar (.out.etag) records the object's ETag and the .out's
size and mtime. It is written before the rename and matches only the file it was written for, so
a crash between the two leaves a mismatch (refetch), and a changed object (new ETag) is refetched.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from dbshift.aws.config import AwsConfig
from dbshift.aws.lazy_errors import botocore_error, client_error
from dbshift.errors import DbshiftError
from dbshift.fallforward.s3_get import FetchCancelled, S3Url, StreamedObject, stream_object
from dbshift.progress import Progress

# <db_id>.<family_guid>.<rds_backup_seq_id>.<backup_file_epoch>
_TLOG_NAME = re.compile(r"^(?P<db>\d+)\.(?P<guid>[0-9A-Za-z-]+)\.(?P<seq>\d+)\.(?P<epoch>\d+)$")
OUT_SUFFIX = ".out"
SIDECAR_SUFFIX = ".out.etag"
MAX_PARALLEL = 32


@dataclass(frozen=True)
class TlogObject:
    key: str
    seq: int
    size: int  # bytes in S3 (ciphertext)
    etag: str

    @property
    def file_name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class FetchedLog:
    key: str
    seq: int
    path: Path
    size: int  # bytes of the decrypted .out file
    skipped: bool  # already fetched and verified by an earlier run


def parse_seq(key: str) -> int | None:
    """The rds_backup_seq_id in an RDS log-copy key, or None for any other key."""
    m = _TLOG_NAME.match(key.rsplit("/", 1)[-1])
    return int(m.group("seq")) if m else None


def _ranges(numbers: Sequence[int], sep: str = ", ") -> str:
    """Sorted, distinct [3, 4, 5, 9] -> '3-5, 9'."""
    if not numbers:
        return ""
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return sep.join(parts)


_SEQ_PART = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", re.ASCII)
MAX_SEQS = 1_000_000
SEQS_FORMAT = "numbers and ranges separated by commas, like 5-9,12,14-20"


def format_seqs(seqs: Sequence[int]) -> str:
    """The compact --seqs form: [5, 6, 7, 12] -> '5-7,12'."""
    return _ranges(sorted(set(seqs)), sep=",")


def parse_seqs(text: str) -> list[int]:
    """'5-9,12, 14-20' (what format_seqs and the error messages print) -> the seqs, sorted, no duplicates.
    ValueError naming the bad part and the expected format."""
    if not text.strip():
        raise ValueError(f"the list is empty: give {SEQS_FORMAT}")
    seqs: set[int] = set()
    for part in text.split(","):
        m = _SEQ_PART.fullmatch(part)
        if m is None:
            raise ValueError(f"{part.strip()!r} in {text!r} is not a seq or a range: give {SEQS_FORMAT}")
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) is not None else first
        if last < first:
            raise ValueError(f"range {part.strip()!r} ends before it starts: give {SEQS_FORMAT}")
        if len(seqs) + last - first >= MAX_SEQS:  # years of 5-minute backups: a typo, not a chain
            raise ValueError(f"{text!r} lists more than {MAX_SEQS:,} seqs: give the ones to fetch")
        seqs.update(range(first, last + 1))
    return sorted(seqs)


def list_tlogs(s3: Any, url: S3Url, page_size: int = 1000) -> list[TlogObject]:
    """Every log-copy object under the prefix (all pages), in numeric seq order."""
    found: list[TlogObject] = []
    request: dict[str, Any] = {"Bucket": url.bucket, "Prefix": url.key, "MaxKeys": page_size}
    try:
        while True:
            page = s3.list_objects_v2(**request)
            for obj in page.get("Contents", []):
                seq = parse_seq(obj["Key"])
                if seq is not None:
                    found.append(TlogObject(obj["Key"], seq, int(obj["Size"]), str(obj.get("ETag", ""))))
            if not page.get("IsTruncated"):
                break
            request["ContinuationToken"] = page["NextContinuationToken"]
    except client_error() as exc:
        err = exc.response.get("Error", {})  # type: ignore[attr-defined]
        raise DbshiftError(
            f"listing {url}: S3 {err.get('Code')}: {err.get('Message')}; check the bucket name and that this role "
            "may s3:ListBucket on it"
        ) from None
    except (botocore_error(), OSError) as exc:
        raise DbshiftError(f"listing {url}: {exc}") from exc
    return sorted(found, key=lambda o: o.seq)


def check_selection(start_seq: int | None, end_seq: int | None, seqs: Sequence[int] | None) -> None:
    """Refuse a selection that is not one well-formed range or one non-empty list of seqs, before any AWS call."""
    if seqs is not None:
        if start_seq is not None or end_seq is not None:
            raise DbshiftError(
                "--end-seq goes with --start-seq; --seqs lists every seq itself: give either a seq range "
                "(--start-seq/--end-seq) or a list of seqs (--seqs), not both"
            )
        if not seqs:
            raise DbshiftError("the list of seqs to fetch is empty: give at least one seq")
        if min(seqs) < 0:
            raise DbshiftError(f"seq {min(seqs)} is negative: seqs are rds_backup_seq_id values, 0 or more")
        return
    if start_seq is None:
        raise DbshiftError("no seqs to fetch: give --start-seq (and --end-seq) or --seqs")
    if start_seq < 0 or (end_seq is not None and end_seq < start_seq):
        raise DbshiftError(f"seq range {start_seq}..{end_seq} is empty: need 0 <= --start-seq <= --end-seq")


def select_range(
    objects: list[TlogObject],
    url: S3Url,
    start_seq: int | None,
    end_seq: int | None,
    seqs: Sequence[int] | None = None,
) -> list[TlogObject]:
    """The objects with start_seq <= seq <= end_seq (end: the newest found), checking that no seq is
    missing and none appears twice; or, given `seqs` instead, exactly those (others are ignored),
    checking that every one has an object. The arguments passed check_selection."""
    if seqs is not None:
        return _select_seqs(objects, url, seqs)
    assert start_seq is not None
    chosen = [o for o in objects if o.seq >= start_seq and (end_seq is None or o.seq <= end_seq)]
    if not chosen:
        newest = f"; the newest there is seq {objects[-1].seq}" if objects else "; there are none"
        raise DbshiftError(
            f"no log backup copies with seq {start_seq}..{end_seq if end_seq is not None else ''} under {url}"
            f"{newest} (copy them with msdb.dbo.rds_tlog_backup_copy_to_S3 first)"
        )
    by_seq = _by_seq(chosen, url)
    last = end_seq if end_seq is not None else chosen[-1].seq
    missing = [n for n in range(start_seq, last + 1) if n not in by_seq]
    if missing:
        raise DbshiftError(
            f"gap in the log backups under {url}: seq {_ranges(missing)} missing from {start_seq}..{last}; "
            "copy them with msdb.dbo.rds_tlog_backup_copy_to_S3 (nothing was downloaded)"
        )
    return chosen


def _select_seqs(objects: list[TlogObject], url: S3Url, seqs: Sequence[int]) -> list[TlogObject]:
    wanted = sorted(set(seqs))
    keep = set(wanted)
    by_seq = _by_seq([o for o in objects if o.seq in keep], url)
    missing = [n for n in wanted if n not in by_seq]
    if missing:
        raise DbshiftError(
            f"no log backup copy under {url} for seq {_ranges(missing)} ({len(missing)} of the {len(wanted)} "
            "asked for); copy them with msdb.dbo.rds_tlog_backup_copy_to_S3, or run the sync again, which "
            "copies what is missing (nothing was downloaded)"
        )
    return [by_seq[n] for n in wanted]


def _by_seq(chosen: list[TlogObject], url: S3Url) -> dict[int, TlogObject]:
    """seq -> object, refusing a seq that appears twice (the prefix spans databases or families)."""
    by_seq: dict[int, TlogObject] = {}
    for o in chosen:
        if o.seq in by_seq:
            raise DbshiftError(
                f"seq {o.seq} appears twice under {url}: {by_seq[o.seq].key} and {o.key}; give the prefix of one "
                "database and family (…/<db_id>.<family_guid>/)"
            )
        by_seq[o.seq] = o
    return by_seq


# --- re-entrancy sidecar -------------------------------------------------------------------------


def _sidecar_record(obj: TlogObject, out: Path) -> dict[str, Any]:
    st = out.stat()
    return {"key": obj.key, "etag": obj.etag, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def already_fetched(obj: TlogObject, out: Path) -> bool:
    """True when `out` was written and verified from this very object version."""
    sidecar = out.with_name(obj.file_name + SIDECAR_SUFFIX)
    try:
        recorded = json.loads(sidecar.read_text(encoding="utf-8"))
        return bool(obj.etag) and recorded == _sidecar_record(obj, out)
    except (OSError, ValueError):
        return False


def _write_sidecar(obj: TlogObject, tmp_out: Path, out: Path) -> None:
    sidecar = out.with_name(obj.file_name + SIDECAR_SUFFIX)
    tmp = sidecar.with_name(sidecar.name + ".tmp")
    # rename keeps the mtime, so the record made from the temporary file matches the final one
    tmp.write_text(json.dumps(_sidecar_record(obj, tmp_out)) + "\n", encoding="utf-8")
    os.replace(tmp, sidecar)


# --- the fetch -----------------------------------------------------------------------------------


def fetch_tlogs(
    s3_url: str,
    start_seq: int | None,
    end_seq: int | None,
    dest: Path,
    parallel: int = 4,
    aws: AwsConfig | None = None,
    kms_key_id: str | None = None,
    progress: TextIO | None = None,
    page_size: int = 1000,
    on_listed: Callable[[list[TlogObject]], None] | None = None,
    seqs: Sequence[int] | None = None,
) -> list[FetchedLog]:
    """Download and decrypt the log copies with seq in [start_seq, end_seq], or with exactly the seqs in
    `seqs` (start_seq and end_seq None), under s3_url into dest/<object file name>.out; returns them in
    apply (seq) order. See the module docstring."""
    from dbshift.aws.rest import KmsRest, S3Rest

    if not 1 <= parallel <= MAX_PARALLEL:
        raise DbshiftError(f"--parallel {parallel} is out of range: use 1..{MAX_PARALLEL}")
    check_selection(start_seq, end_seq, seqs)
    url = S3Url.parse(s3_url)
    s3, kms_client = S3Rest(aws), KmsRest(aws)
    chosen = select_range(list_tlogs(s3, url, page_size), url, start_seq, end_seq, seqs)
    if on_listed is not None:
        on_listed(chosen)
    dest = Path(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DbshiftError(f"cannot create --dest {dest}: {exc.strerror}") from exc

    results: dict[int, FetchedLog] = {}
    todo: list[TlogObject] = []
    for obj in chosen:
        out = dest / (obj.file_name + OUT_SUFFIX)
        if already_fetched(obj, out):
            results[obj.seq] = FetchedLog(obj.key, obj.seq, out, out.stat().st_size, True)
        else:
            todo.append(obj)

    bar = Progress(progress, "tlog fetch", len(todo), "files", total_bytes=sum(o.size for o in todo))
    if todo:

        def kms() -> Any:  # one shared client; only encrypted objects ask for it
            return kms_client

        cancel = threading.Event()

        def one(obj: TlogObject) -> StreamedObject:
            out = dest / (obj.file_name + OUT_SUFFIX)
            # A stale record must not vouch for the file while it is being replaced.
            out.with_name(obj.file_name + SIDECAR_SUFFIX).unlink(missing_ok=True)
            got = stream_object(
                s3,
                kms,
                url.bucket,
                obj.key,
                out,
                etag=obj.etag or None,
                kms_key_id=kms_key_id,
                on_bytes=lambda n: bar.add(nbytes=n),
                cancel=cancel,
                before_rename=lambda tmp, _r: _write_sidecar(obj, tmp, out),
            )
            bar.unit_done()
            return got

        with ThreadPoolExecutor(max_workers=min(parallel, len(todo)), thread_name_prefix="tlog-fetch") as pool:
            futures = {pool.submit(one, obj): obj for obj in todo}
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                cancel.set()
                for f in futures:
                    f.cancel()
                wait(futures)
                real = [f for f in futures if not f.cancelled() and isinstance(f.exception(), DbshiftError)]
                first = next((f for f in real if not isinstance(f.exception(), FetchCancelled)), failed[0])
                raise first.exception()  # type: ignore[misc]
            for f, obj in futures.items():
                got = f.result()
                results[obj.seq] = FetchedLog(obj.key, obj.seq, got.path, got.size, False)
    bar.close(f"{bar.done_units} fetched, {len(chosen) - len(todo)} already present")
    return [results[o.seq] for o in chosen]
