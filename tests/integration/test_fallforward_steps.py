"""Fall-forward steps end to end against the emulated estate (RDS source → EC2 target over WinRM).

Every test uses its own target database name: the estate is shared by the whole session.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from dbshift.aws import client
from dbshift.errors import DbshiftError
from dbshift.estate.manager import estate_aws_config
from dbshift.fallforward import certificate, cutover, full_restore, rds, sync
from dbshift.fallforward.chain import ChainGapError
from dbshift.fallforward.endpoints import Endpoints, endpoints_from_params

pytestmark = pytest.mark.estate

BUCKET = "dbshift-ff-steps"
POLL = 0.2
_ids = itertools.count(100_000, 1_000)


@dataclass
class FF:
    ep: Endpoints
    kms_key_arn: str
    tlog_prefix: str
    master_key_password: str
    estate: Any

    def rows(self, side: str, db: str) -> list[tuple[Any, ...]]:
        session = self.ep.source if side == "source" else self.ep.target
        result = session.execute("SELECT order_id, customer, amount FROM dbo.Orders ORDER BY order_id;", database=db)
        return [(r["order_id"], r["customer"], str(r["amount"])) for r in result.rows]

    def insert(self, db: str, count: int = 5) -> None:
        start = next(_ids)
        values = ", ".join(
            f"({i}, N'ff-{i}', {i % 997}.25, '2026-11-22T00:00:00')" for i in range(start, start + count)
        )
        self.ep.source.execute(
            f"INSERT INTO dbo.Orders (order_id, customer, amount, ordered_at) VALUES {values};", database=db
        )

    def log_backup(self, db: str) -> None:
        self.ep.source.execute(f"EXEC rdsadmin.emulator.take_tlog_backup @db_name='{db}';")

    def redo(self, db: str) -> int | None:
        return full_restore.target_state(self.ep.target, db).redo_start_lsn

    def state(self, db: str) -> str | None:
        return full_restore.target_state(self.ep.target, db).state

    def task_count(self) -> int:
        return len(rds.task_rows(self.ep.source))

    def s3_keys(self, prefix: str) -> list[str]:
        s3 = client("s3", self.ep.aws)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return sorted(o["Key"] for p in pages for o in p.get("Contents", []))


@pytest.fixture(scope="module")
def ff(estate) -> Iterator[FF]:
    aws = estate_aws_config(estate.aws_endpoint_url)
    s3 = client("s3", aws)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=BUCKET)
    key = client("kms", aws).create_key(Description="dbshift fall-forward steps test")["KeyMetadata"]["Arn"]
    ep = endpoints_from_params(
        {
            "winrm_endpoint": estate.winrm_endpoint,
            "winrm_username": estate.winrm_username,
            "winrm_password": estate.winrm_password,
            "winrm_transport": "basic",
            "winrm_server_cert_validation": "ignore",
            "source_server": estate.rds_server,
            "source_login": estate.rds_login,
            "source_password": estate.rds_password,
            "target_server": estate.ec2_server,
            "endpoint_url": estate.aws_endpoint_url,
            "region": estate.region,
        }
    )
    ep.aws = aws
    # The tlog copy target is one setting per RDS instance: reuse it when another test set it.
    rows = ep.source.execute("EXEC rdsadmin.dbo.rds_show_configuration @name = N'target_s3_arn_for_tlog_copy';").rows
    configured = rows[0]["value"] if rows and rows[0].get("value") else None
    prefix = "s3://" + configured.split(":::", 1)[1].rstrip("/") + "/" if configured else f"s3://{BUCKET}/tlogs/"
    if configured:
        bucket = prefix[5:].split("/", 1)[0]
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=bucket)
    try:
        yield FF(ep, key, prefix, "Mk-" + "x7!" * 4, estate)
    finally:
        ep.close()


def _setup(ff: FF, source_db: str, target_db: str, check_first: bool = False) -> None:
    """Certificate (TDE), full backup, restore WITH NORECOVERY."""
    host_dir = f"D:\\dbshift\\{target_db}"
    certificate.ensure_tde_certificate(
        ff.ep, source_db, f"s3://{BUCKET}/certs/", ff.kms_key_arn, "D:\\dbshift\\certs",
        master_key_password=ff.master_key_password, poll_interval=POLL,
    )  # fmt: skip
    url = f"s3://{BUCKET}/full/{target_db}.bak"
    rds.native_backup(ff.ep, source_db, url, ff.kms_key_arn, poll_interval=POLL)
    full_restore.ensure_restoring(ff.ep, url, target_db, host_dir)
    assert ff.state(target_db) == "RESTORING"


def _sync(ff: FF, source_db: str, target_db: str) -> tuple[sync.CopyResult, sync.FetchResult, sync.RestoreLogResult]:
    copied = sync.tlog_copy(ff.ep, source_db, target_db, ff.tlog_prefix, ff.kms_key_arn, poll_interval=POLL)
    fetched = sync.tlog_fetch(ff.ep, copied.s3_prefix, None, None, f"D:\\dbshift\\{target_db}\\tlogs", seqs=copied.seqs)
    restored = sync.restore_logs(ff.ep, target_db, fetched.files, batch_size=2)
    return copied, fetched, restored


def test_tde_certificate(ff: FF) -> None:
    args = (f"s3://{BUCKET}/certs/", ff.kms_key_arn, "D:\\dbshift\\certs")
    plain = certificate.ensure_tde_certificate(ff.ep, "SalesDb", *args, poll_interval=POLL)
    assert (plain.changed, plain.tde, plain.action) == (False, False, "not-tde")

    before = ff.ep.target.execute("SELECT name, thumbprint FROM sys.certificates;", database="master").rows
    source_name, thumb = certificate.source_certificate(ff.ep.source, "PayrollDb")
    already = any(certificate._hex(r["thumbprint"]) == thumb for r in before)
    tasks = ff.task_count()
    check = certificate.ensure_tde_certificate(ff.ep, "PayrollDb", *args, poll_interval=POLL, check_mode=True)
    assert check.changed is (not already) and check.thumbprint == thumb
    assert ff.ep.target.execute("SELECT name FROM sys.certificates;", database="master").rows == [
        {"name": r["name"]} for r in before
    ]
    assert ff.task_count() == tasks  # check mode ran no RDS task
    if not already:
        keys = ff.ep.target.execute("SELECT name FROM sys.symmetric_keys;", database="master").rows
        if not keys:
            with pytest.raises(DbshiftError, match="master_key_password"):
                certificate.ensure_tde_certificate(ff.ep, "PayrollDb", *args, poll_interval=POLL)
        done = certificate.ensure_tde_certificate(
            ff.ep, "PayrollDb", *args, master_key_password=ff.master_key_password, poll_interval=POLL
        )
        assert (done.changed, done.action, done.certificate_name) == (True, "imported", source_name)
    again = certificate.ensure_tde_certificate(ff.ep, "PayrollDb", *args, poll_interval=POLL)
    assert (again.changed, again.action, again.thumbprint) == (False, "present", thumb)
    again_check = certificate.ensure_tde_certificate(ff.ep, "PayrollDb", *args, poll_interval=POLL, check_mode=True)
    assert again_check.changed is False


@pytest.mark.parametrize("source_db", ["SalesDb", "PayrollDb"])
def test_setup_sync_cutover(ff: FF, source_db: str) -> None:
    target_db = f"{source_db}_ff_cycle"
    certificate.ensure_tde_certificate(
        ff.ep, source_db, f"s3://{BUCKET}/certs/", ff.kms_key_arn, "D:\\dbshift\\certs",
        master_key_password=ff.master_key_password, poll_interval=POLL,
    )  # fmt: skip
    url = f"s3://{BUCKET}/full/{target_db}.bak"
    bucket_key = url[5 + len(BUCKET) + 1 :]

    # native backup: check mode writes nothing; real run; second run starts no task
    tasks = ff.task_count()
    assert rds.native_backup(ff.ep, source_db, url, ff.kms_key_arn, poll_interval=POLL, check_mode=True).changed
    assert ff.s3_keys(bucket_key) == [] and ff.task_count() == tasks
    first = rds.native_backup(ff.ep, source_db, url, ff.kms_key_arn, poll_interval=POLL)
    assert first.changed and first.lifecycle == "SUCCESS" and ff.s3_keys(bucket_key) == [bucket_key]
    tasks = ff.task_count()
    assert not rds.native_backup(ff.ep, source_db, url, ff.kms_key_arn, poll_interval=POLL).changed
    assert ff.task_count() == tasks

    # restore WITH NORECOVERY: check mode changes nothing; second run is "present"
    host_dir = f"D:\\dbshift\\{target_db}"
    planned = full_restore.ensure_restoring(ff.ep, url, target_db, host_dir, check_mode=True)
    assert planned.changed and ff.state(target_db) is None
    restored = full_restore.ensure_restoring(ff.ep, url, target_db, host_dir)
    assert (restored.changed, restored.action) == (True, "restored") and ff.state(target_db) == "RESTORING"
    assert restored.redo_start_lsn == ff.redo(target_db)
    for check_mode in (True, False):
        again = full_restore.ensure_restoring(ff.ep, url, target_db, host_dir, check_mode=check_mode)
        assert (again.changed, again.action) == (False, "present")
    assert ff.task_count() == tasks

    # rows on RDS → log backup → copy (check mode first) → fetch → restore
    ff.insert(source_db)
    ff.log_backup(source_db)
    redo = ff.redo(target_db)
    copy_check = sync.tlog_copy(
        ff.ep, source_db, target_db, ff.tlog_prefix, ff.kms_key_arn, poll_interval=POLL, check_mode=True
    )
    assert copy_check.changed and copy_check.logs and ff.task_count() == tasks
    copied, fetched, applied = _sync(ff, source_db, target_db)
    assert copied.changed and copied.start_seq == copy_check.start_seq
    assert fetched.files and applied.changed and applied.applied
    assert applied.lsn_reached == ff.redo(target_db) == copied.logs[-1].last_lsn > redo

    # a second sync with nothing new changes nothing
    copied2, fetched2, applied2 = _sync(ff, source_db, target_db)
    assert (copied2.changed, fetched2.changed, applied2.changed) == (False, False, False)
    assert sync.restore_logs(ff.ep, target_db, fetched.files).changed is False  # already applied: no 4326

    # more rows, then the status shows the lag, then sync again
    ff.insert(source_db, 7)
    time.sleep(1.1)  # backup_file_time_utc has one-second resolution
    ff.log_backup(source_db)
    behind = sync.status(ff.ep, source_db, target_db)
    assert behind.state == "RESTORING" and behind.pending_logs >= 1
    assert behind.lag_seconds is not None and behind.lag_seconds >= 1
    _sync(ff, source_db, target_db)
    caught_up = sync.status(ff.ep, source_db, target_db)
    assert (caught_up.pending_logs, caught_up.lag_seconds) == (0, 0)

    # cutover: refused without confirm (still RESTORING), check mode changes nothing, then ONLINE
    with pytest.raises(DbshiftError, match="confirm_cutover: true"):
        cutover.cutover(ff.ep, target_db, confirm=False)
    assert ff.state(target_db) == "RESTORING"
    assert cutover.cutover(ff.ep, target_db, confirm=True, check_mode=True).changed
    assert ff.state(target_db) == "RESTORING"
    done = cutover.cutover(ff.ep, target_db, confirm=True)
    assert (done.changed, done.state) == (True, "ONLINE")
    assert ff.rows("target", target_db) == ff.rows("source", source_db)
    assert not cutover.cutover(ff.ep, target_db, confirm=True).changed
    with pytest.raises(DbshiftError, match="not RESTORING"):
        sync.restore_logs(ff.ep, target_db, fetched.files)


def test_killed_sync_completes(ff: FF) -> None:
    source_db, target_db = "SalesDb", "SalesDb_ff_killed"
    _setup(ff, source_db, target_db)
    for _ in range(3):
        ff.insert(source_db)
        ff.log_backup(source_db)
    copied = sync.tlog_copy(ff.ep, source_db, target_db, ff.tlog_prefix, ff.kms_key_arn, poll_interval=POLL)
    fetched = sync.tlog_fetch(ff.ep, copied.s3_prefix, copied.start_seq, copied.end_seq, f"D:\\dbshift\\{target_db}")
    assert len(fetched.files) >= 3
    # the "killed" run got through one RESTORE LOG only
    partial = sync.restore_logs(ff.ep, target_db, fetched.files[:1])
    assert len(partial.applied) == 1
    redo = ff.redo(target_db)
    would = sync.restore_logs(ff.ep, target_db, fetched.files, check_mode=True)
    assert would.changed and [a["file"] for a in would.applied] == fetched.files[1:]
    assert ff.redo(target_db) == redo  # check mode applied nothing
    rest = sync.restore_logs(ff.ep, target_db, fetched.files, batch_size=2)
    assert rest.changed and fetched.files[0] in rest.skipped
    assert [a["file"] for a in rest.applied] == fetched.files[1:]
    assert rest.lsn_reached == copied.logs[-1].last_lsn
    cutover.cutover(ff.ep, target_db, confirm=True)
    assert ff.rows("target", target_db) == ff.rows("source", source_db)


def test_gap_fails_before_applying(ff: FF) -> None:
    source_db, target_db = "SalesDb", "SalesDb_ff_gap"
    _setup(ff, source_db, target_db)
    for _ in range(3):
        ff.insert(source_db)
        ff.log_backup(source_db)
    copied = sync.tlog_copy(ff.ep, source_db, target_db, ff.tlog_prefix, ff.kms_key_arn, poll_interval=POLL)
    assert len(copied.logs) >= 3
    victim = copied.logs[1]
    client("s3", ff.ep.aws).delete_object(Bucket=copied.s3_prefix[5:].split("/", 1)[0], Key=victim.key)
    redo = ff.redo(target_db)
    with pytest.raises(DbshiftError) as info:
        fetched = sync.tlog_fetch(
            ff.ep, copied.s3_prefix, copied.start_seq, copied.end_seq, f"D:\\dbshift\\{target_db}"
        )
        sync.restore_logs(ff.ep, target_db, fetched.files)
    assert str(victim.seq) in str(info.value) or str(victim.first_lsn) in str(info.value)
    assert ff.redo(target_db) == redo  # nothing applied
    # the next sync copies the missing log again and completes
    _copied, _fetched, applied = _sync(ff, source_db, target_db)
    assert applied.lsn_reached == copied.logs[-1].last_lsn


def test_other_database_backups_leave_holes_sync_still_applies(ff: FF) -> None:
    # The emulator numbers log backups per instance, as RDS may: PayrollDb's backups take seqs between SalesDb's.
    source_db, other_db, target_db = "SalesDb", "PayrollDb", "SalesDb_ff_holes"
    _setup(ff, source_db, target_db)

    def interleaved_backups() -> None:
        for _ in range(2):
            ff.insert(source_db)
            ff.log_backup(source_db)
            ff.insert(other_db)
            ff.log_backup(other_db)
        ff.log_backup(source_db)

    for _ in range(2):
        interleaved_backups()
        copied, fetched, applied = _sync(ff, source_db, target_db)
        holes = set(range(copied.start_seq, copied.end_seq + 1)) - set(copied.seqs)
        assert holes and holes <= {r.log.seq for r in sync.list_rds_logs(ff.ep.source, other_db)}
        assert {b.seq for b in copied.logs} <= set(copied.seqs) and len(fetched.files) == len(copied.seqs)
        assert applied.lsn_reached == ff.redo(target_db) == copied.logs[-1].last_lsn
        # the same logs as a seq range: the holes read as a gap, so fetching by range would stop the sync
        with pytest.raises(DbshiftError, match="gap in the log backups"):
            sync.tlog_fetch(ff.ep, copied.s3_prefix, copied.start_seq, copied.end_seq, f"D:\\dbshift\\{target_db}")
    caught_up = sync.status(ff.ep, source_db, target_db)
    assert (caught_up.pending_logs, caught_up.lag_seconds) == (0, 0)
    assert cutover.cutover(ff.ep, target_db, confirm=True).state == "ONLINE"
    assert ff.rows("target", target_db) == ff.rows("source", source_db)


def test_gap_in_files_names_the_range(ff: FF) -> None:
    source_db, target_db = "SalesDb", "SalesDb_ff_gapfiles"
    _setup(ff, source_db, target_db)
    for _ in range(3):
        ff.insert(source_db)
        ff.log_backup(source_db)
    copied = sync.tlog_copy(ff.ep, source_db, target_db, ff.tlog_prefix, ff.kms_key_arn, poll_interval=POLL)
    fetched = sync.tlog_fetch(ff.ep, copied.s3_prefix, copied.start_seq, copied.end_seq, f"D:\\dbshift\\{target_db}")
    redo = ff.redo(target_db)
    missing = copied.logs[1]
    with pytest.raises(ChainGapError) as info:
        sync.restore_logs(ff.ep, target_db, [f for i, f in enumerate(fetched.files) if i != 1])
    assert (info.value.from_lsn, info.value.to_lsn) == (missing.first_lsn, missing.last_lsn)
    assert f"LSN {missing.first_lsn} to {missing.last_lsn}" in str(info.value) and "Nothing was applied" in str(
        info.value
    )
    assert ff.redo(target_db) == redo


def test_corrupt_object_applies_nothing_after_last_good_log(ff: FF) -> None:
    source_db, target_db = "PayrollDb", "PayrollDb_ff_corrupt"
    _setup(ff, source_db, target_db)
    for _ in range(3):
        ff.insert(source_db)
        ff.log_backup(source_db)
    copied = sync.tlog_copy(ff.ep, source_db, target_db, ff.tlog_prefix, ff.kms_key_arn, poll_interval=POLL)
    bad = copied.logs[-1]
    s3 = client("s3", ff.ep.aws)
    bucket = copied.s3_prefix[5:].split("/", 1)[0]
    obj = s3.get_object(Bucket=bucket, Key=bad.key)
    body = bytearray(obj["Body"].read())
    body[-1] ^= 0xFF  # breaks the last block: padding check fails
    s3.put_object(Bucket=bucket, Key=bad.key, Body=bytes(body), Metadata=obj["Metadata"])
    redo = ff.redo(target_db)
    host_dir = f"D:\\dbshift\\{target_db}"
    with pytest.raises(DbshiftError) as info:
        sync.tlog_fetch(ff.ep, copied.s3_prefix, copied.start_seq, copied.end_seq, host_dir)
    assert bad.key.rsplit("/", 1)[-1] in str(info.value)
    assert ff.redo(target_db) == redo
    # the good logs before it still apply; nothing after the last good one does
    good = sync.tlog_fetch(ff.ep, copied.s3_prefix, copied.start_seq, copied.logs[-2].seq, host_dir)
    applied = sync.restore_logs(ff.ep, target_db, good.files)
    assert applied.lsn_reached == copied.logs[-2].last_lsn == ff.redo(target_db)


def test_tde_password_leaves_no_trace(ff: FF) -> None:
    """No private-key password of any certificate imported in this estate is in a file of it or in a result.

    The estate is shared by the session: the import may have happened here or in an earlier test (then this
    call finds the certificate present). Every .pvk RDS wrote, in any bucket, is checked.
    """
    import base64
    from pathlib import Path

    result = certificate.ensure_tde_certificate(
        ff.ep, "PayrollDb", f"s3://{BUCKET}/certs/", ff.kms_key_arn, "D:\\dbshift\\certs",
        master_key_password=ff.master_key_password, poll_interval=POLL,
    )  # fmt: skip
    assert result.tde and result.action in ("imported", "present")
    s3, kms = client("s3", ff.ep.aws), client("kms", ff.ep.aws)
    passwords = []
    for bucket in (b["Name"] for b in s3.list_buckets()["Buckets"]):
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            if obj["Key"].lower().endswith(".pvk"):
                wrapped = s3.head_object(Bucket=bucket, Key=obj["Key"])["Metadata"]["rds-tde-pwd"]
                plain = kms.decrypt(CiphertextBlob=base64.b64decode(wrapped))["Plaintext"]
                passwords.append(base64.b64encode(plain))
    assert passwords, "no .pvk in the estate's S3: no certificate was imported"
    for password in passwords:
        assert password.decode() not in repr(result.to_dict())
        hits = [
            str(path)
            for path in Path(ff.estate.root).rglob("*")
            if path.is_file() and path.stat().st_size < 64 * 1024 * 1024 and password in path.read_bytes()
        ]
        assert hits == []
