"""fetch_tlogs / s3 get against a real moto server, on objects written exactly as the emulated RDS writes them."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from loopback import LoopbackServer

from dbshift.aws.clients import AwsConfig, client
from dbshift.errors import DbshiftError
from dbshift.estate.sqlserver import rds_crypto
from dbshift.fallforward.s3_get import get_object
from dbshift.fallforward.tlog_fetch import SIDECAR_SUFFIX, fetch_tlogs

DBI = "db-ABCDEFGHIJKLMNOPQRSTUVWXY1"


@pytest.fixture
def bucket(aws: AwsConfig) -> str:
    name = f"tlogs-{uuid.uuid4().hex[:12]}"
    client("s3", aws).create_bucket(Bucket=name)
    return name


@pytest.fixture
def kms_arn(aws: AwsConfig) -> str:
    return client("kms", aws).create_key(Description="tlog copies")["KeyMetadata"]["Arn"]


class RdsWriter:
    """Writes log copies in the emulated RDS's format (the same rds_crypto functions rds.py uses)."""

    def __init__(self, aws: AwsConfig, bucket: str, kms_arn: str | None, dbi: str = DBI) -> None:
        self.s3, self.kms = client("s3", aws), client("kms", aws)
        self.bucket, self.kms_arn, self.dbi = bucket, kms_arn, dbi
        self.guid = str(uuid.uuid4()).upper()
        self.folder = f"tlogs/7.{self.guid}/"

    def key(self, seq: int) -> str:
        return "tlogs/" + rds_crypto.tlog_object_name(7, self.guid, seq, 1_700_000_000 + seq)

    def put(self, seq: int, blob: bytes, **meta_changes: str | None) -> str:
        key = self.key(seq)
        if self.kms_arn:
            dk = self.kms.generate_data_key(
                KeyId=self.kms_arn, KeySpec="AES_256", EncryptionContext=rds_crypto.tlog_encryption_context(self.dbi)
            )
            body, iv = rds_crypto.aes_cbc_encrypt(blob, dk["Plaintext"])
            meta = rds_crypto.tlog_object_metadata(dk["CiphertextBlob"], iv, self.kms_arn, self.dbi, len(blob))
        else:
            body, meta = blob, {"dbresourceid": self.dbi}
        for k, v in meta_changes.items():
            k = k.replace("_", "-")
            if v is None:
                meta.pop(k, None)
            else:
                meta[k] = v
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, Metadata=meta)
        return key

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.folder}"


def blob(seq: int, size: int = 70_001) -> bytes:
    return (seq.to_bytes(8, "big") + os.urandom(max(size - 8, 0)))[:size]


def listing(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir())


def test_decrypts_byte_exact_in_numeric_order(aws: AwsConfig, bucket: str, kms_arn: str, tmp_path: Path) -> None:
    w = RdsWriter(aws, bucket, kms_arn)
    blobs = {seq: blob(seq, size) for seq, size in [(1, 16), (2, 1), (3, 0), (9, 5_000_001), (10, 70_000), (11, 33)]}
    for seq, data in blobs.items():
        w.put(seq, data)
    for seq in range(4, 9):
        blobs[seq] = blob(seq, 100 + seq)
        w.put(seq, blobs[seq])
    got = fetch_tlogs(w.url, 2, 11, tmp_path / "out", parallel=3, aws=aws)
    assert [g.seq for g in got] == list(range(2, 12))  # 2 before 10, 9 before 10
    for g in got:
        assert g.path.name == w.key(g.seq).rsplit("/", 1)[-1] + ".out"
        assert g.path.read_bytes() == blobs[g.seq], g.seq
        assert g.size == len(blobs[g.seq]) and not g.skipped
    assert not [n for n in listing(tmp_path / "out") if n.endswith(".tmp")]


def test_end_seq_defaults_to_newest_and_plain_copies(aws: AwsConfig, bucket: str, tmp_path: Path) -> None:
    w = RdsWriter(aws, bucket, kms_arn=None)  # rds_tlog_backup_copy_to_S3 without @kms_key_arn
    data = {seq: blob(seq, 1000 + seq) for seq in (5, 6, 7)}
    for seq, b in data.items():
        w.put(seq, b)
    got = fetch_tlogs(w.url, 6, None, tmp_path, aws=aws)
    assert [(g.seq, g.path.read_bytes()) for g in got] == [(6, data[6]), (7, data[7])]


def test_pagination_past_1000_keys(aws: AwsConfig, bucket: str, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    w = RdsWriter(aws, bucket, kms_arn=None)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda s: w.put(s, s.to_bytes(4, "big")), range(1, 1006)))
    got = fetch_tlogs(w.url, 999, None, tmp_path, aws=aws)
    assert [g.seq for g in got] == list(range(999, 1006))
    assert [g.path.read_bytes() for g in got] == [s.to_bytes(4, "big") for s in range(999, 1006)]
    # a small page size crosses many pages; the result is the same
    again = fetch_tlogs(w.url, 998, 1000, tmp_path / "p", aws=aws, page_size=97)
    assert [g.seq for g in again] == [998, 999, 1000]


def test_gap_fails_before_anything_is_written(aws: AwsConfig, bucket: str, kms_arn: str, tmp_path: Path) -> None:
    w = RdsWriter(aws, bucket, kms_arn)
    for seq in (1, 2, 3, 6, 8):
        w.put(seq, blob(seq, 100))
    dest = tmp_path / "out"
    with pytest.raises(DbshiftError, match=r"gap .* seq 4-5, 7 missing from 1\.\.8") as info:
        fetch_tlogs(w.url, 1, 8, dest, aws=aws)
    assert w.url in str(info.value)
    assert not dest.exists()
    with pytest.raises(DbshiftError, match=r"seq 9-10 missing"):
        fetch_tlogs(w.url, 8, 10, dest, aws=aws)
    with pytest.raises(DbshiftError, match="no log backup copies with seq 20"):
        fetch_tlogs(w.url, 20, None, dest, aws=aws)
    assert [g.seq for g in fetch_tlogs(w.url, 1, 3, dest, aws=aws)] == [1, 2, 3]


def test_seqs_with_holes_fetch_exactly_those(aws: AwsConfig, bucket: str, kms_arn: str, tmp_path: Path) -> None:
    w = RdsWriter(aws, bucket, kms_arn)
    blobs = {seq: blob(seq, 500 + seq) for seq in (1, 2, 3, 4, 7)}
    for seq, data in blobs.items():
        w.put(seq, data)
    dest = tmp_path / "out"
    # other databases' backups took 5 and 6; 3 is present but not this caller's
    got = fetch_tlogs(w.url, None, None, dest, aws=aws, seqs=[7, 1, 4, 2])
    assert [g.seq for g in got] == [1, 2, 4, 7]
    assert [g.path.read_bytes() for g in got] == [blobs[s] for s in (1, 2, 4, 7)]
    assert [n for n in listing(dest) if n.endswith(".out")] == sorted(g.path.name for g in got)
    assert w.key(3).rsplit("/", 1)[-1] + ".out" not in listing(dest)
    again = fetch_tlogs(w.url, None, None, dest, aws=aws, seqs=[1, 2, 4, 7])
    assert [g.skipped for g in again] == [True] * 4
    # the same holes as a range are still a gap
    with pytest.raises(DbshiftError, match=r"gap .* seq 5-6 missing from 1\.\.7"):
        fetch_tlogs(w.url, 1, 7, tmp_path / "range", aws=aws)
    assert not (tmp_path / "range").exists()


def test_listed_seq_missing_fails_before_writing(aws: AwsConfig, bucket: str, kms_arn: str, tmp_path: Path) -> None:
    w = RdsWriter(aws, bucket, kms_arn)
    for seq in (1, 2, 4, 7):
        w.put(seq, blob(seq, 300))
    dest = tmp_path / "out"
    with pytest.raises(DbshiftError, match=r"for seq 3, 8-9 \(3 of the 7 asked for\)") as info:
        fetch_tlogs(w.url, None, None, dest, aws=aws, seqs=[1, 2, 3, 4, 7, 8, 9])
    assert w.url in str(info.value) and "rds_tlog_backup_copy_to_S3" in str(info.value)
    assert not dest.exists()
    with pytest.raises(DbshiftError, match="not both"):
        fetch_tlogs(w.url, 1, None, dest, aws=aws, seqs=[1])
    with pytest.raises(DbshiftError, match="empty"):
        fetch_tlogs(w.url, None, None, dest, aws=aws, seqs=[])
    with pytest.raises(DbshiftError, match="--start-seq"):
        fetch_tlogs(w.url, None, None, dest, aws=aws)
    assert not dest.exists()


def test_reentrant_and_changed_object_refetched(aws: AwsConfig, bucket: str, kms_arn: str, tmp_path: Path) -> None:
    w = RdsWriter(aws, bucket, kms_arn)
    for seq in (1, 2, 3):
        w.put(seq, blob(seq, 4000))
    first = fetch_tlogs(w.url, 1, 3, tmp_path, aws=aws)
    assert [g.skipped for g in first] == [False] * 3
    second = fetch_tlogs(w.url, 1, 3, tmp_path, aws=aws)
    assert [g.skipped for g in second] == [True] * 3
    assert [g.path for g in second] == [g.path for g in first]
    new = blob(2, 5000)
    w.put(2, new)  # a new copy of seq 2 (new ETag)
    third = fetch_tlogs(w.url, 1, 3, tmp_path, aws=aws)
    assert [g.skipped for g in third] == [True, False, True]
    assert third[1].path.read_bytes() == new
    # a .out whose record does not match (edited / crash before rename) is fetched again
    third[0].path.write_bytes(b"damaged")
    fourth = fetch_tlogs(w.url, 1, 3, tmp_path, aws=aws)
    assert [g.skipped for g in fourth] == [False, True, True]
    assert fourth[0].path.read_bytes() != b"damaged"
    assert sorted(p.name for p in tmp_path.glob("*" + SIDECAR_SUFFIX)) == sorted(g.path.name + ".etag" for g in fourth)


def _assert_fails_cleanly(w: RdsWriter, dest: Path, aws: AwsConfig, pattern: str, bad_seq: int) -> None:
    with pytest.raises(DbshiftError, match=pattern) as info:
        fetch_tlogs(w.url, 1, 3, dest, aws=aws, parallel=2)
    assert w.key(bad_seq) in str(info.value)
    names = listing(dest) if dest.exists() else []
    assert not [n for n in names if n.endswith(".tmp")]
    assert w.key(bad_seq).rsplit("/", 1)[-1] + ".out" not in names


@pytest.mark.parametrize(
    ("case", "pattern"),
    [
        ("wrong_context", "InvalidCiphertextException.*dbresourceid"),
        ("wrong_key", "different KMS key"),
        ("missing_iv", "without metadata x-amz-iv"),
        ("missing_dbresourceid", "without metadata dbresourceid"),
        ("bad_padding", "bad padding"),
        ("truncated_block", "truncated"),
        ("truncated_partial", "truncated"),
    ],
)
def test_bad_objects_fail_clearly_with_no_partial_output(
    aws: AwsConfig, bucket: str, kms_arn: str, tmp_path: Path, case: str, pattern: str
) -> None:
    w = RdsWriter(aws, bucket, kms_arn)
    w.put(1, blob(1, 3000))
    w.put(3, blob(3, 3000))
    data = blob(2, 300_000)
    s3 = client("s3", aws)
    if case == "wrong_context":
        w.put(2, data, dbresourceid="db-SOMEOTHERINSTANCE0000000000")
    elif case == "wrong_key":
        other = client("kms", aws).create_key()["KeyMetadata"]["Arn"]
        key = w.put(2, data)
        head = s3.head_object(Bucket=bucket, Key=key)["Metadata"]
        head["x-amz-matdesc"] = json.dumps({"kms_cmk_id": other})
        s3.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": bucket, "Key": key},
            Metadata=head,
            MetadataDirective="REPLACE",
        )
    elif case == "missing_iv":
        w.put(2, data, x_amz_iv=None)
    elif case == "missing_dbresourceid":
        w.put(2, data, dbresourceid=None)
    elif case == "bad_padding":
        w.put(2, data, x_amz_iv=base64.b64encode(os.urandom(16)).decode(), x_amz_unencrypted_content_length=None)
        # a different IV only changes the first block, so also swap the data key for another object's
        other_key = s3.head_object(Bucket=bucket, Key=w.key(1))["Metadata"]["x-amz-key"]
        meta = s3.head_object(Bucket=bucket, Key=w.key(2))["Metadata"]
        meta["x-amz-key"] = other_key
        body = s3.get_object(Bucket=bucket, Key=w.key(2))["Body"].read()
        s3.put_object(Bucket=bucket, Key=w.key(2), Body=body, Metadata=meta)
    else:
        key = w.put(2, data)
        obj = s3.get_object(Bucket=bucket, Key=key)
        body = obj["Body"].read()
        cut = len(body) - 32 if case == "truncated_block" else len(body) - 5
        s3.put_object(Bucket=bucket, Key=key, Body=body[:cut], Metadata=obj["Metadata"])
    _assert_fails_cleanly(w, tmp_path / "out", aws, pattern, 2)


def test_truncation_detected_without_length_metadata(aws: AwsConfig, bucket: str, kms_arn: str, tmp_path: Path) -> None:
    w = RdsWriter(aws, bucket, kms_arn)
    s3 = client("s3", aws)
    for seq in (1, 3):
        w.put(seq, blob(seq, 100))
    key = w.put(2, blob(2, 100_000), x_amz_unencrypted_content_length=None)
    obj = s3.get_object(Bucket=bucket, Key=key)
    s3.put_object(Bucket=bucket, Key=key, Body=obj["Body"].read()[:-16], Metadata=obj["Metadata"])
    # without the length, losing a whole block shows up as bad padding (the last block is not padding)
    _assert_fails_cleanly(w, tmp_path, aws, "bad padding|truncated", 2)


def test_s3_get_plain_and_v2_envelope(aws: AwsConfig, bucket: str, kms_arn: str, tmp_path: Path) -> None:
    s3, kms = client("s3", aws), client("kms", aws)
    plain = os.urandom(123_457)
    s3.put_object(Bucket=bucket, Key="certs/a.cer", Body=plain)
    assert get_object(f"s3://{bucket}/certs/a.cer", tmp_path, aws).read_bytes() == plain
    data = os.urandom(2_000_003)
    dk = kms.generate_data_key(
        KeyId=kms_arn, KeySpec="AES_256", EncryptionContext=rds_crypto.native_backup_matdesc(kms_arn)
    )
    body, iv = rds_crypto.aes_cbc_encrypt(data, dk["Plaintext"])
    meta = rds_crypto.native_backup_metadata(dk["CiphertextBlob"], iv, kms_arn, len(data))
    s3.put_object(Bucket=bucket, Key="backups/Sales.bak", Body=body, Metadata=meta)
    path = get_object(f"s3://{bucket}/backups/Sales.bak", tmp_path / "d", aws)
    assert path == tmp_path / "d" / "Sales.bak" and path.read_bytes() == data
    with pytest.raises(DbshiftError, match="no such object"):
        get_object(f"s3://{bucket}/backups/None.bak", tmp_path, aws)
    assert listing(tmp_path / "d") == ["Sales.bak"]


class FaultyProxy(LoopbackServer):
    """A TCP proxy in front of the moto server. The answer to the request whose request line contains
    `marker` is damaged on the way: cut after `cut_after` body bytes (the connection dropped), or
    with the body byte at `flip_at` inverted. moto closes every connection after one answer, so
    the whole answer is held and then passed on, damaged."""

    def __init__(self, upstream: str, marker: bytes, cut_after: int | None = None, flip_at: int | None = None) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.marker, self.cut_after, self.flip_at = marker, cut_after, flip_at
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        up = socket.create_connection(self.upstream)
        marked = threading.Event()
        threading.Thread(target=self._requests, args=(conn, up, marked), daemon=True).start()
        self._answers(up, conn, marked)

    def _requests(self, conn: socket.socket, up: socket.socket, marked: threading.Event) -> None:
        while data := _recv(conn):
            if self.marker in data.split(b"\r\n", 1)[0]:
                marked.set()
            up.sendall(data)

    def _answers(self, up: socket.socket, conn: socket.socket, marked: threading.Event) -> None:
        held = bytearray()
        try:
            while data := _recv(up):
                if marked.is_set():
                    held += data
                else:
                    conn.sendall(data)
            if held:
                body = held.index(b"\r\n\r\n") + 4
                if self.flip_at is not None:
                    held[body + self.flip_at] ^= 0xFF
                conn.sendall(held if self.cut_after is None else held[: body + self.cut_after])
            # shutdown, not just close: the request thread still blocks in recv on this socket
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the client went away first (a fetch stops its other downloads when one fails)
        finally:
            conn.close()
            up.close()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(1 << 16)
    except OSError:
        return b""


@pytest.mark.parametrize(
    ("kms", "damage", "pattern"),
    [
        # A plain copy has no length metadata and no padding: only Content-Length and the S3 checksum notice.
        (False, {"cut_after": 1_500_016}, "truncated download.*1500016 of 3000000"),
        (True, {"cut_after": 1_500_016}, "truncated download.*1500016 of 3000016"),
        (False, {"flip_at": 2_000_000}, "do not match the object's S3 checksum"),
    ],
    ids=["plain_cut", "encrypted_cut", "plain_byte_flipped"],
)
def test_damaged_download_fails_with_no_partial_output(
    aws: AwsConfig, bucket: str, kms_arn: str, tmp_path: Path, kms: bool, damage: dict[str, int], pattern: str
) -> None:
    w = RdsWriter(aws, bucket, kms_arn if kms else None)
    for seq in (1, 2, 3):
        w.put(seq, blob(seq, 3_000_000), x_amz_unencrypted_content_length=None)
    proxy = FaultyProxy(str(aws.endpoint_url), w.key(2).rsplit("/", 1)[-1].encode(), **damage)
    try:
        _assert_fails_cleanly(w, tmp_path, AwsConfig(endpoint_url=proxy.url), pattern, 2)
    finally:
        proxy.close()
