"""DR option D for real: a PostgreSQL server of the test's own → pg_dump → zstd/gzip → AES-GCM under a us-west-2
KMS key → emulated S3 in us-west-2 → pg_restore into another database, verified against the manifest.

The source has NULLs, bytea (12 MB of incompressible bytes, so the upload has several parts),
text with newlines and quotes, numeric, float, jsonb, arrays, a quoted schema and an empty table.
Equality is checked with the test's own hash (md5 of the sorted row texts), not the library's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from dbshift.aws.clients import AwsConfig, client
from dbshift.dr import Clients, envelope_stream, native_dump, runbook
from dbshift.errors import ConfigError

REGION = "us-west-2"
SOURCE_SQL = r'''
CREATE TABLE items (
    id integer PRIMARY KEY, name text NOT NULL, note text, price numeric(14, 4), ratio float8,
    blob bytea, created timestamptz, flag boolean, tags text[], doc jsonb
);
INSERT INTO items
SELECT i, 'item ' || i,
       CASE WHEN i % 7 = 0 THEN NULL ELSE E'line one\nline "two"\ttab ' || repeat('x', i % 13) || E'\n' END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE round((i * 1.2345)::numeric, 4) - 1000 END,
       CASE WHEN i % 11 = 0 THEN NULL ELSE i / 7.0 END,
       CASE WHEN i % 3 = 0 THEN NULL ELSE decode(md5(i::text), 'hex') END,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '37 minutes',
       CASE WHEN i % 4 = 0 THEN NULL ELSE i % 2 = 0 END,
       ARRAY['a' || i, NULL, 'b'],
       jsonb_build_object('i', i, 'text', E'multi\nline')
FROM generate_series(1, 3000) AS i;
CREATE INDEX items_name ON items (name);
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."blobs ""quoted""" (k bigint, payload bytea NOT NULL);
INSERT INTO "Odd Schema"."blobs ""quoted"""
SELECT i, (SELECT string_agg(sha256((i * 1000 + j)::text::bytea), ''::bytea) FROM generate_series(1, 128) AS j)
FROM generate_series(1, 3000) AS i;
CREATE TABLE empty_one (id int);
'''


def _dsn(base: str, database: str) -> str:
    return make_conninfo(base, dbname=database)


def _admin(base: str) -> psycopg.Connection:
    return psycopg.connect(_dsn(base, "postgres"), autocommit=True)


def _databases(base: str) -> set[str]:
    with _admin(base) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database")}


def _fingerprint(base: str, database: str) -> dict[str, tuple[int, str]]:
    """Per user table: row count and md5 over the sorted row texts (independent of the library's hash)."""
    with psycopg.connect(_dsn(base, database)) as conn:
        conn.execute("SET extra_float_digits = 1")
        tables = conn.execute(
            "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        ).fetchall()
        out = {}
        for (t,) in tables:
            out[t] = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(x::text, E'\\x01' ORDER BY x::text), '')) FROM {t} AS x"
            ).fetchone()
        return out


@dataclass
class Setup:
    dsn: str = field(repr=False)  # superuser DSN of the test's PostgreSQL (holds the password)
    aws: AwsConfig
    bucket: str
    key_arn: str
    source: str

    def s3(self):
        return client("s3", self.aws)

    def kms(self):
        return client("kms", self.aws)

    def dump(self, key: str, **kw) -> native_dump.DumpResult:
        return native_dump.dump_to_s3(self.dsn, self.source, self.bucket, key, self.key_arn, self.aws, **kw)

    def restore(self, key: str, target: str, **kw) -> native_dump.RestoreResult:
        return native_dump.restore_from_s3(self.bucket, key, self.dsn, target, self.aws, **kw)

    def stored(self, key: str) -> bytes:
        return self.s3().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def keys(self) -> list[str]:
        return [o["Key"] for o in self.s3().list_objects_v2(Bucket=self.bucket).get("Contents", [])]


@pytest.fixture(scope="module")
def setup(postgres_dsn: str, aws_endpoint_url: str) -> Iterator[Setup]:
    aws = AwsConfig(region=REGION, endpoint_url=aws_endpoint_url)
    bucket = f"dr-dumps-{uuid.uuid4().hex[:8]}"
    client("s3", aws).create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    key_arn = client("kms", aws).create_key(Description="dr target key")["KeyMetadata"]["Arn"]
    source = f"dr_src_{uuid.uuid4().hex[:8]}"
    with _admin(postgres_dsn) as conn:
        conn.execute(f'CREATE DATABASE "{source}"')
    with psycopg.connect(_dsn(postgres_dsn, source), autocommit=True) as conn:
        conn.execute(SOURCE_SQL)
    made = _databases(postgres_dsn)
    yield Setup(postgres_dsn, aws, bucket, key_arn, source)
    with _admin(postgres_dsn) as conn:
        for name in _databases(postgres_dsn) - made | {source}:
            if name.startswith("dr_"):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    # 5 MiB, S3's smallest part: the 12 MB dump goes up in several parts.
    monkeypatch.setattr(native_dump, "PART", 5 << 20)


def test_dump_restore_verify_and_rerun(setup: Setup, small_parts: None, capsys: pytest.CaptureFixture) -> None:
    key = "pg/zstd/src.dump"
    first = setup.dump(key, compress="zstd")
    assert first.changed
    source = _fingerprint(setup.dsn, setup.source)
    assert first.rows == {t: n for t, (n, _) in source.items()}
    assert first.rows["public.items"] == 3000 and first.rows["public.empty_one"] == 0

    stored = setup.stored(key)
    assert len(stored) == first.bytes and stored.startswith(envelope_stream.MAGIC)
    manifest_blob = setup.stored(key + native_dump.MANIFEST_SUFFIX)
    for needle in (b"PGDMP", b"items", b"Odd Schema", b"blobs", b"line one", b"item 17", b"empty_one"):
        assert needle not in stored and needle not in manifest_blob, needle
    assert first.dump_bytes > 12_000_000 and first.bytes < first.dump_bytes  # the blobs are incompressible
    parts = setup.s3().head_object(Bucket=setup.bucket, Key=key, PartNumber=1).get("PartsCount")
    assert parts is None or parts >= 3
    assert setup.s3().head_object(Bucket=setup.bucket, Key=key)["ServerSideEncryption"] == "aws:kms"

    target = f"dr_tgt_{uuid.uuid4().hex[:8]}"
    restored = setup.restore(key, target, create_database=True, progress=__import__("sys").stdout)
    assert restored.changed and restored.verified and restored.sha256 == first.sha256
    assert restored.bytes == first.dump_bytes
    assert _fingerprint(setup.dsn, target) == source
    assert "native restore" in capsys.readouterr().out
    with psycopg.connect(_dsn(setup.dsn, target)) as conn:  # schema objects came along, not only rows
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'items_name'").fetchone()[0] == 1
    assert not [d for d in _databases(setup.dsn) if "__dbshift_" in d]

    again = setup.dump(key, compress="zstd")
    assert not again.changed and again.sha256 == first.sha256 and again.bytes == first.bytes
    assert setup.stored(key) == stored
    assert not setup.restore(key, target, create_database=True).changed


def test_changed_source_makes_a_new_dump_and_overwrite_replaces_only_after_verify(setup: Setup) -> None:
    key = "pg/gzip/src.dump"
    first = setup.dump(key, compress="gzip")
    target = f"dr_tgt_{uuid.uuid4().hex[:8]}"
    setup.restore(key, target, create_database=True)
    with psycopg.connect(_dsn(setup.dsn, setup.source), autocommit=True) as conn:
        conn.execute("UPDATE items SET note = 'changed' WHERE id = 42")
    try:
        second = setup.dump(key, compress="gzip")
        assert second.changed and second.sha256 != first.sha256
        with pytest.raises(native_dump.NativeDumpError, match=r"not empty and differs.*overwrite=True"):
            setup.restore(key, target)
        result = setup.restore(key, target, overwrite=True, no_owner=True)
        assert result.changed
        assert _fingerprint(setup.dsn, target) == _fingerprint(setup.dsn, setup.source)
    finally:
        with psycopg.connect(_dsn(setup.dsn, setup.source), autocommit=True) as conn:
            conn.execute(
                "UPDATE items SET note = CASE WHEN id % 7 = 0 THEN NULL ELSE E'line one\\nline \"two\"\\ttab ' "
                "|| repeat('x', id % 13) || E'\\n' END WHERE id = 42"
            )


def _corrupt(setup: Setup, key: str, offset_from_end: int) -> None:
    blob = bytearray(setup.stored(key))
    blob[len(blob) // 2 if offset_from_end < 0 else len(blob) - offset_from_end] ^= 0x40
    setup.s3().put_object(Bucket=setup.bucket, Key=key, Body=bytes(blob))


def _resign_manifest(setup: Setup, key: str) -> None:
    """Make the manifest describe the damaged object (as bit rot at rest would: S3's ETag stays the same)."""
    mkey = key + native_dump.MANIFEST_SUFFIX
    kms = setup.kms()
    m = native_dump.Manifest.from_json(envelope_stream.decrypt_bytes(kms, "m", setup.stored(mkey)), "m")
    head = setup.s3().head_object(Bucket=setup.bucket, Key=key)
    m.object_etag, m.object_bytes = head["ETag"], head["ContentLength"]
    ctx = {"dbshift:purpose": "native-dump", "dbshift:object": f"s3://{setup.bucket}/{mkey}"}
    blob = envelope_stream.encrypt_bytes(kms, setup.key_arn, ctx, m.to_json())
    setup.s3().put_object(Bucket=setup.bucket, Key=mkey, Body=blob)


@pytest.mark.parametrize("where", [-1, 1])  # a byte in the middle; the last byte (the last frame's tag)
def test_corrupt_object_fails_clearly_and_leaves_no_database(setup: Setup, where: int) -> None:
    key = f"pg/corrupt{where}/src.dump"
    setup.dump(key)
    before = _databases(setup.dsn)
    _corrupt(setup, key, where)
    target = f"dr_tgt_{uuid.uuid4().hex[:8]}"
    # As replaced: the object no longer matches the manifest.
    with pytest.raises(native_dump.NativeDumpError, match="does not match its manifest"):
        setup.restore(key, target, create_database=True)
    # As damaged at rest: the frames' GCM tags catch it while streaming into the staging database.
    _resign_manifest(setup, key)
    with pytest.raises(envelope_stream.EnvelopeError, match="failed authentication") as err:
        setup.restore(key, target, create_database=True)
    assert f"s3://{setup.bucket}/{key}" in str(err.value)
    assert _databases(setup.dsn) == before  # no target, no staging database left behind


def test_wrong_kms_key_is_refused_before_anything_is_uploaded(setup: Setup) -> None:
    east = AwsConfig(region="us-east-1", endpoint_url=setup.aws.endpoint_url)
    east_key = client("kms", east).create_key(Description="source region key")["KeyMetadata"]
    before = setup.keys()
    for key_id, match in (
        (east_key["Arn"], "is a key in us-east-1, but the copy is made in us-west-2"),
        (east_key["KeyId"], r"kms_key_id .* KMS in us-west-2 answers NotFoundException"),
    ):
        with pytest.raises(ConfigError, match=match):
            native_dump.dump_to_s3(setup.dsn, setup.source, setup.bucket, "pg/wrong.dump", key_id, setup.aws)
    # A bucket of another region is refused too.
    east_bucket = f"dr-east-{uuid.uuid4().hex[:8]}"
    client("s3", east).create_bucket(Bucket=east_bucket)
    with pytest.raises(ConfigError, match=f"bucket {east_bucket} is in region us-east-1"):
        native_dump.dump_to_s3(setup.dsn, setup.source, east_bucket, "pg/wrong.dump", setup.key_arn, setup.aws)
    assert setup.keys() == before
    assert not setup.s3().list_multipart_uploads(Bucket=setup.bucket).get("Uploads")


def test_restore_refusals_name_the_fix(setup: Setup) -> None:
    with pytest.raises(native_dump.NativeDumpError, match=r"no manifest .*run the dump again"):
        setup.restore("pg/never-written.dump", "dr_never", create_database=True)
    key = "pg/refusals/src.dump"
    setup.dump(key, compress="gzip")
    with pytest.raises(ConfigError, match="does not exist; create it or pass create_database=True"):
        setup.restore(key, f"dr_missing_{uuid.uuid4().hex[:6]}")
    assert "dr_never" not in _databases(setup.dsn)
    before = setup.keys()
    with pytest.raises(native_dump.NativeDumpError, match="cannot connect to PostgreSQL database 'dr_no_such_db'"):
        native_dump.dump_to_s3(setup.dsn, "dr_no_such_db", setup.bucket, "pg/none.dump", setup.key_arn, setup.aws)
    assert setup.keys() == before
    assert not setup.s3().list_multipart_uploads(Bucket=setup.bucket).get("Uploads")


def _state(setup: Setup) -> tuple[dict[str, str], set[str], list]:
    """Everything check mode must leave alone: the bucket's objects (with ETags), the server's databases,
    unfinished uploads."""
    objects = {o["Key"]: o["ETag"] for o in setup.s3().list_objects_v2(Bucket=setup.bucket).get("Contents", [])}
    return objects, _databases(setup.dsn), setup.s3().list_multipart_uploads(Bucket=setup.bucket).get("Uploads", [])


def test_check_mode_reads_only_and_predicts_the_real_run(setup: Setup) -> None:
    key, target = "pg/plan/src.dump", f"dr_tgt_{uuid.uuid4().hex[:8]}"
    name = f"s3://{setup.bucket}/{key}"
    p = {
        "source_dsn": setup.dsn,
        "target_dsn": setup.dsn,
        "database": setup.source,
        "target_database": target,
        "dump_bucket": setup.bucket,
        "dump_key": key,
        "kms_key_arn": setup.key_arn,
        "target_region": REGION,
        "source_region": "us-east-1",
        "source_instance_id": "pg-prod",
        "endpoint_url": setup.aws.endpoint_url,
    }
    clients = Clients(AwsConfig(endpoint_url=setup.aws.endpoint_url))

    def check(params: dict = p) -> dict:
        before = _state(setup)
        result = runbook.plan(clients, params, "native_dump", {})
        assert _state(setup) == before  # no object, no upload, no database (not even a staging one)
        return result

    first = check()
    assert first["changed"] and first["status"] == "would_dump" and first["instance_id"] == target
    assert first["steps"] == [
        f"would dump (postgres): {name}: no manifest (no finished dump)",
        f"would restore: target database {target!r} does not exist: it is created and restored from {name}",
    ]
    assert first["rows"] == {t: n for t, (n, _) in _fingerprint(setup.dsn, setup.source).items()}

    assert runbook.native_dump(p)["changed"]
    after = check()
    assert not after["changed"] and after["status"] == "restored", after["steps"]
    assert after["steps"][0] == f"no dump (postgres): {name} holds the source's data already " + (
        "(row counts, content hashes and schema match)"
    )
    assert after["steps"][1].startswith(f"no restore: target database {target!r} holds the dump's data already")
    assert not runbook.native_dump(p)["changed"]  # the real run agrees

    with psycopg.connect(_dsn(setup.dsn, setup.source), autocommit=True) as conn:
        conn.execute("UPDATE items SET flag = NOT flag WHERE id = 1")
    try:
        planned = native_dump.plan_dump_to_s3(setup.dsn, setup.source, setup.bucket, key, setup.key_arn, setup.aws)
        assert planned.would_dump and planned.reason == (
            f"{name}: the source differs from the dump (public.items: content hash differs (3000 rows))"
        )
        # The target still matches the stored dump; against the dump about to be made it differs.
        stored = native_dump.plan_restore_from_s3(setup.bucket, key, setup.dsn, target, setup.aws)
        assert not stored.would_restore
        pending = native_dump.plan_restore_from_s3(
            setup.bucket, key, setup.dsn, target, setup.aws, overwrite=True, manifest=planned.manifest
        )
        assert pending.would_restore and "public.items: content hash differs" in pending.reason
        other = check({**p, "target_database": target + "_b"})
        assert other["changed"] and other["status"] == "would_dump" and other["steps"][0].startswith("would dump")
        # The runbook restores without overwrite: check mode refuses as the real run does (after its dump).
        with pytest.raises(native_dump.NativeDumpError, match=r"not empty and differs.*overwrite=True"):
            check()
        with pytest.raises(native_dump.NativeDumpError, match=r"not empty and differs.*overwrite=True"):
            runbook.native_dump(p)
    finally:
        with psycopg.connect(_dsn(setup.dsn, setup.source), autocommit=True) as conn:
            conn.execute("UPDATE items SET flag = NOT flag WHERE id = 1")
