"""`dbshift tlog fetch`, `tde-password` and `s3 get` as a user runs them (a new process; moto over HTTP)."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from dbshift.aws.clients import AwsConfig, client
from dbshift.cli import build_parser, main
from dbshift.estate.sqlserver import rds_crypto
from dbshift.fallforward.tlog_fetch import format_seqs, parse_seqs

DBI = "db-CLIUNITRESOURCEID000000001"


def run(args: list[str], endpoint: str | None, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "dbshift.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def setup(aws_endpoint_url: str) -> dict[str, str]:
    aws = AwsConfig(endpoint_url=aws_endpoint_url)
    s3, kms = client("s3", aws), client("kms", aws)
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    return {"bucket": bucket, "arn": arn, "url": aws_endpoint_url}


def put_log(setup: dict[str, str], seq: int, data: bytes) -> str:
    aws = AwsConfig(endpoint_url=setup["url"])
    dk = client("kms", aws).generate_data_key(
        KeyId=setup["arn"], KeySpec="AES_256", EncryptionContext=rds_crypto.tlog_encryption_context(DBI)
    )
    body, iv = rds_crypto.aes_cbc_encrypt(data, dk["Plaintext"])
    meta = rds_crypto.tlog_object_metadata(dk["CiphertextBlob"], iv, setup["arn"], DBI, len(data))
    key = "t/" + rds_crypto.tlog_object_name(3, "FAMILY-GUID", seq, 1000 + seq)
    client("s3", aws).put_object(Bucket=setup["bucket"], Key=key, Body=body, Metadata=meta)
    return key


def test_tlog_fetch_prints_files_in_apply_order(setup: dict[str, str], tmp_path: Path) -> None:
    data = {seq: os.urandom(1000 + seq) for seq in (1, 2, 10, 3, 4, 5, 6, 7, 8, 9)}
    for seq, b in data.items():
        put_log(setup, seq, b)
    url = f"s3://{setup['bucket']}/t/3.FAMILY-GUID/"
    res = run(["tlog", "fetch", url, "--start-seq", "2", "--end-seq", "10", "--dest", str(tmp_path)], setup["url"])
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert [Path(line).name for line in lines] == [f"3.FAMILY-GUID.{s}.{1000 + s}.out" for s in range(2, 11)]
    assert [Path(line).read_bytes() for line in lines] == [data[s] for s in range(2, 11)]
    assert "tlog fetch: 9 fetched, 0 already present" in res.stderr
    again = run(["tlog", "fetch", url, "--start-seq", "2", "--dest", str(tmp_path), "--parallel", "1"], setup["url"])
    assert again.returncode == 0 and again.stdout.splitlines() == lines
    assert "0 fetched, 9 already present" in again.stderr


def test_tlog_fetch_seqs_skips_holes_and_unlisted(setup: dict[str, str], tmp_path: Path) -> None:
    data = {seq: os.urandom(100 + seq) for seq in (1, 2, 3, 4, 7)}
    for seq, b in data.items():
        put_log(setup, seq, b)
    url = f"s3://{setup['bucket']}/t/3.FAMILY-GUID/"
    res = run(["tlog", "fetch", url, "--seqs", "1-2,4, 7", "--dest", str(tmp_path)], setup["url"])
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert [Path(line).name for line in lines] == [f"3.FAMILY-GUID.{s}.{1000 + s}.out" for s in (1, 2, 4, 7)]
    assert [Path(line).read_bytes() for line in lines] == [data[s] for s in (1, 2, 4, 7)]
    assert sorted(p.name for p in tmp_path.glob("*.out")) == sorted(Path(line).name for line in lines)


@pytest.mark.parametrize(
    ("text", "seqs"),
    [
        ("7", [7]),
        ("0", [0]),
        ("5-9,12,14-16", [5, 6, 7, 8, 9, 12, 14, 15, 16]),
        ("3-5, 9", [3, 4, 5, 9]),  # as the error messages print it
        ("9,2-3,3", [2, 3, 9]),
        ("4-4", [4]),
    ],
)
def test_seqs_list_forms(text: str, seqs: list[int]) -> None:
    args = build_parser().parse_args(["tlog", "fetch", "s3://b/x/", "--seqs", text, "--dest", "D"])
    assert (args.seqs, args.start_seq, args.end_seq) == (seqs, None, None)
    assert parse_seqs(format_seqs(seqs)) == seqs


@pytest.mark.parametrize("text", ["", "x", "1,,2", "-3", "2-", "9-5", "1-2-3", "1.5", "1;2", "\uff13"])
def test_seqs_bad_list_is_a_usage_error(capsys: pytest.CaptureFixture[str], text: str) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["tlog", "fetch", "s3://b/x/", "--seqs", text, "--dest", "D"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "argument --seqs" in err[0] and "like 5-9,12,14-20" in err[0], err


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--seqs", "1-3", "--start-seq", "1"], "argument --start-seq: not allowed with argument --seqs"),
        (["--start-seq", "1", "--seqs", "1-3"], "argument --seqs: not allowed with argument --start-seq"),
        ([], "one of the arguments --start-seq --seqs is required"),
    ],
)
def test_seqs_and_start_seq_exclusive(capsys: pytest.CaptureFixture[str], args: list[str], reason: str) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["tlog", "fetch", "s3://b/x/", *args, "--dest", "D"])
    assert info.value.code == 2 and reason in capsys.readouterr().err


def test_seqs_with_end_seq_refused_before_any_aws_call(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["tlog", "fetch", "s3://b/x/", "--seqs", "1-3", "--end-seq", "3", "--dest", str(tmp_path / "d")]
    assert main(argv) == 2
    assert "--end-seq goes with --start-seq" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["tlog", "fetch", "bucket/x", "--start-seq", "1", "--dest", "D"], "is not an S3 URL"),
        (["tlog", "fetch", "s3://b/x/", "--start-seq", "x", "--dest", "D"], "--start-seq"),
        (["tlog", "fetch", "s3://b/x/", "--dest", "D"], "--start-seq"),
        (["tlog", "fetch", "s3://b/x/", "--start-seq", "1", "--dest", "D", "--parallel", "0"], "--parallel 0"),
        (["tde-password", "s3://b/k.cer", "--kms-key", "a", "--out", "F"], "not a .pvk object"),
        (["s3", "get", "s3://b/", "--dest", "D"], "names a folder"),
        (["tlog", "fetch", "s3://BUCKET/t/", "--start-seq", "5", "--dest", "D"], "no log backup copies with seq 5"),
        (["tlog", "fetch", "s3://BUCKET/t/", "--start-seq", "1", "--end-seq", "3", "--dest", "D"], "seq 2 missing"),
        (["tlog", "fetch", "s3://BUCKET/t/", "--seqs", "1-4", "--dest", "D"], "for seq 2, 4 (2 of the 4 asked for)"),
        (["s3", "get", "s3://BUCKET/none.bak", "--dest", "D"], "no such object"),
    ],
)
def test_failures_exit_non_zero_with_one_line(
    setup: dict[str, str], tmp_path: Path, args: list[str], reason: str
) -> None:
    put_log(setup, 1, b"one")
    put_log(setup, 3, b"three")
    dest = str(tmp_path / "d")
    args = [dest if a == "D" else a.replace("BUCKET", setup["bucket"]) for a in args]
    res = run(args, setup["url"])
    assert res.returncode != 0
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0], res.stderr
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())


def test_tde_password_file_mode_0600_and_nothing_secret_printed(setup: dict[str, str], tmp_path: Path) -> None:
    aws = AwsConfig(endpoint_url=setup["url"])
    dk = client("kms", aws).generate_data_key(KeyId=setup["arn"], KeySpec="AES_256")  # no context, as RDS does
    client("s3", aws).put_object(
        Bucket=setup["bucket"],
        Key="certs/tde.pvk",
        Body=b"pvk bytes",
        Metadata={"rds-tde-pwd": base64.b64encode(dk["CiphertextBlob"]).decode()},
    )
    expected = base64.b64encode(dk["Plaintext"]).decode()
    out = tmp_path / "pw"
    out.write_text("old")
    os.chmod(out, 0o644)  # a leftover file with a loose mode is replaced, not reused
    url = f"s3://{setup['bucket']}/certs/tde.pvk"
    res = run(["tde-password", url, "--kms-key", setup["arn"], "--out", str(out)], setup["url"])
    assert res.returncode == 0, res.stderr
    assert out.read_text() == expected
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert expected not in res.stdout + res.stderr and res.stdout == ""
    assert [p.name for p in tmp_path.iterdir()] == ["pw"]  # no temporary file left
    other = client("kms", aws).create_key()["KeyMetadata"]["Arn"]
    bad = run(["tde-password", url, "--kms-key", other, "--out", str(tmp_path / "pw2")], setup["url"])
    assert bad.returncode != 0 and "--kms-key" not in bad.stdout and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "pw2").exists()


def test_s3_get_prints_the_written_path(setup: dict[str, str], tmp_path: Path) -> None:
    client("s3", AwsConfig(endpoint_url=setup["url"])).put_object(Bucket=setup["bucket"], Key="a/b.bak", Body=b"xyz")
    res = run(["s3", "get", f"s3://{setup['bucket']}/a/b.bak", "--dest", str(tmp_path / "d")], setup["url"])
    assert res.returncode == 0, res.stderr
    assert res.stdout == f"{tmp_path / 'd' / 'b.bak'}\n" and (tmp_path / "d" / "b.bak").read_bytes() == b"xyz"


def test_help_does_not_import_aws() -> None:
    code = "import sys; from dbshift.cli import build_parser; build_parser(); print('boto3' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


def test_a_seq_list_of_millions_is_refused_not_built() -> None:
    from dbshift.fallforward.tlog_fetch import MAX_SEQS, parse_seqs

    assert len(parse_seqs(f"1-{MAX_SEQS}")) == MAX_SEQS
    with pytest.raises(ValueError, match="more than 1,000,000 seqs"):
        parse_seqs(f"0-{MAX_SEQS}")
    with pytest.raises(ValueError, match="more than 1,000,000 seqs"):
        parse_seqs("1-10000000000")
