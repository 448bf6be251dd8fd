"""Benchmark: `dbshift tlog fetch` against the procedure's script approach and a plain parallel download.

    .venv/bin/python bench/tlog_fetch.py [--logs 40] [--mib 32] [--parallel 4]

Starts its own AWS emulator (moto server, as the estate does), writes LOGS transaction-log copies of
MIB MiB each in the exact format the emulated RDS writes (KMS data key with context
{"aws:rds:db-id": ...}, AES-256-CBC, x-amz-* metadata), then times, in this one run:

  (a) the script's approach, written fresh here: one listing, sequential download of every object
      to disk, then a sequential decrypt pass in 16 KiB chunks;
  (b) a plain download of the same objects with 4 threads and no decryption: the limit;
  dbshift: `dbshift tlog fetch` as a user runs it (a new process; start-up included).

Prints the times, both ratios and the targets (dbshift within 1.2x of (b), at least 1.4x faster than (a)).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REGION = "us-east-1"
DBI = "db-BENCHRESOURCEID00000000001"
TARGET_VS_LIMIT = 1.2
TARGET_VS_SCRIPT = 1.4


def _clients(url: str):
    import boto3
    from botocore.config import Config

    cfg = Config(s3={"addressing_style": "path"}, max_pool_connections=16)
    kw = {"region_name": REGION, "endpoint_url": url, "config": cfg}
    return boto3.client("s3", **kw), boto3.client("kms", **kw)


def write_logs(url: str, bucket: str, prefix: str, logs: int, mib: int) -> str:
    """LOGS objects in the emulated RDS's tlog-copy format; returns the KMS key ARN."""
    from dbshift.estate.sqlserver import rds_crypto

    s3, kms = _clients(url)
    s3.create_bucket(Bucket=bucket)
    arn = kms.create_key(Description="bench")["KeyMetadata"]["Arn"]
    guid = str(uuid.uuid4()).upper()

    def put(seq: int) -> None:
        blob = os.urandom(mib * 1024 * 1024 - 4321)  # not a whole number of blocks, like real logs
        dk = kms.generate_data_key(
            KeyId=arn, KeySpec="AES_256", EncryptionContext=rds_crypto.tlog_encryption_context(DBI)
        )
        body, iv = rds_crypto.aes_cbc_encrypt(blob, dk["Plaintext"])
        meta = rds_crypto.tlog_object_metadata(dk["CiphertextBlob"], iv, arn, DBI, len(blob))
        key = prefix + rds_crypto.tlog_object_name(5, guid, seq, 1_700_000_000 + seq)
        s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=meta)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(put, range(1, logs + 1)))
    return arn


def script_approach(url: str, bucket: str, prefix: str, work: Path) -> None:
    """(a) What the procedure's script does (minus printing the password): list once, download all, then decrypt."""
    import base64
    import json

    from Cryptodome.Cipher import AES

    s3, kms = _clients(url)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    for key in keys:  # sequential download into the working directory, one stream at a time
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        with open(work / key.rsplit("/", 1)[-1], "wb") as f:
            while chunk := body.read(1024 * 1024):
                f.write(chunk)
    for key in keys:  # second pass: decrypt in 16 KiB chunks
        meta = s3.head_object(Bucket=bucket, Key=key)["Metadata"]
        ctx = {"aws:rds:db-id": meta["dbresourceid"]}
        data_key = kms.decrypt(
            CiphertextBlob=base64.b64decode(meta["x-amz-key"]),
            EncryptionContext=ctx,
            KeyId=json.loads(meta["x-amz-matdesc"])["kms_cmk_id"],
        )["Plaintext"]
        cipher = AES.new(data_key, AES.MODE_CBC, base64.b64decode(meta["x-amz-iv"]))
        name = work / key.rsplit("/", 1)[-1]
        with open(name, "rb") as src, open(str(name) + ".out", "wb") as dst:
            prev = b""
            while chunk := src.read(16 * 1024):
                if prev:
                    dst.write(cipher.decrypt(prev))
                prev = chunk
            last = cipher.decrypt(prev)
            dst.write(last[: -last[-1]])


def plain_download(url: str, bucket: str, prefix: str, work: Path, threads: int = 4) -> None:
    """(b) The limit: the same objects downloaded by 4 threads, no decryption."""
    s3, _ = _clients(url)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]

    def get(key: str) -> None:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        with open(work / key.rsplit("/", 1)[-1], "wb") as f:
            while chunk := body.read(1024 * 1024):
                f.write(chunk)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(get, keys))


def dbshift_fetch(url: str, bucket: str, prefix: str, work: Path, parallel: int) -> list[str]:
    exe = shutil.which("dbshift", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "dbshift.cli"]
    env = {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_DEFAULT_REGION": REGION}
    out = subprocess.run(
        [
            *cmd,
            "tlog",
            "fetch",
            f"s3://{bucket}/{prefix}",
            "--start-seq",
            "1",
            "--dest",
            str(work),
            "--parallel",
            str(parallel),
            "--quiet",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.splitlines()


def _compile_dbshift() -> None:
    """dbshift as pip installs it: with its bytecode. An editable checkout run where
    PYTHONDONTWRITEBYTECODE is set (CI images) caches none, and every start would compile our modules again."""
    import compileall

    import dbshift

    compileall.compile_dir(str(Path(dbshift.__file__).parent), quiet=1)


def _timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logs", type=int, default=40)
    parser.add_argument("--mib", type=int, default=32)
    parser.add_argument("--parallel", type=int, default=4, help="dbshift --parallel (default 4, as (b))")
    parser.add_argument("--workdir", help="scratch directory (default: a temporary one)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each approach; medians are compared")
    args = parser.parse_args(argv)

    from dbshift.estate import process

    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(var, value)
    os.environ.pop("AWS_PROFILE", None)
    scratch = Path(tempfile.mkdtemp(prefix="dbshift-bench-", dir=args.workdir))
    _compile_dbshift()
    port = process.free_port()
    pid = process.start([sys.executable, "-m", "dbshift.estate.aws_server", "--port", str(port)], scratch / "moto.log")
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_until(lambda: process.http_answers(url + "/moto-api/"), "moto server", 60, scratch / "moto.log")
        bucket, prefix = f"bench-{uuid.uuid4().hex[:8]}", "tlogs/5.family/"
        print(f"writing {args.logs} logs x {args.mib} MiB into the emulated S3 ...", flush=True)
        write_logs(url, bucket, prefix, args.logs, args.mib)
        runs: dict[str, Callable[[Path], object]] = {
            "a": lambda d: script_approach(url, bucket, prefix, d),
            "b": lambda d: plain_download(url, bucket, prefix, d),
            "dbshift": lambda d: dbshift_fetch(url, bucket, prefix, d, args.parallel),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        for rnd in range(args.rounds):
            # Rotate the order and flush the disk between runs: no approach pays for another's writeback.
            order = list(runs)[rnd % len(runs) :] + list(runs)[: rnd % len(runs)]
            for name in order:
                out = scratch / f"{name}-{rnd}"
                out.mkdir()
                os.sync()
                elapsed, result = _timed(runs[name], out)
                times[name].append(elapsed)
                if name == "dbshift":  # dbshift's output must equal the script's, file for file
                    reference = scratch / "reference"
                    if not reference.exists():
                        script_approach(url, bucket, prefix, reference.mkdir() or reference)
                    files = result
                    assert len(files) == args.logs, files
                    for f in files:
                        assert _digest(Path(f)) == _digest(reference / Path(f).name), f
                shutil.rmtree(out)
                os.sync()
        t_a, t_b, t_d = (statistics.median(times[name]) for name in ("a", "b", "dbshift"))
        mb = args.logs * args.mib * 1.048576
        vs_limit, vs_script = t_d / t_b, t_a / t_d
        print(f"data: {args.logs} x {args.mib} MiB = {mb:.0f} MB; outputs identical to the script's")
        print(
            f"median of {args.rounds} rounds, order rotated: "
            + "; ".join(f"{name} " + " ".join(f"{t:.2f}" for t in ts) + " s" for name, ts in times.items())
        )
        print(f"(a) script approach (sequential download, then 16 KiB decrypt): {t_a:6.2f} s  {mb / t_a:7.1f} MB/s")
        print(f"(b) plain 4-thread download, no decryption (the limit):        {t_b:6.2f} s  {mb / t_b:7.1f} MB/s")
        print(f"dbshift tlog fetch --parallel {args.parallel} (new process):{'':14}{t_d:6.2f} s  {mb / t_d:7.1f} MB/s")
        ok_limit, ok_script = vs_limit <= TARGET_VS_LIMIT, vs_script >= TARGET_VS_SCRIPT
        print(f"dbshift / (b) = {vs_limit:.2f}x  (target <= {TARGET_VS_LIMIT}x: {'met' if ok_limit else 'MISSED'})")
        print(f"(a) / dbshift = {vs_script:.2f}x  (target >= {TARGET_VS_SCRIPT}x: {'met' if ok_script else 'MISSED'})")
    finally:
        process.stop(pid)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
