"""Area: the same file operations on a local directory and on an S3 prefix (moto server over HTTP)."""

from __future__ import annotations

import pickle
import uuid
from pathlib import Path

import pytest

from dbshift.aws.clients import AwsConfig, client
from dbshift.datamove.area import Area, AreaError


@pytest.fixture(params=["local", "s3"])
def area(request: pytest.FixtureRequest, tmp_path: Path) -> Area:
    if request.param == "local":
        return Area(tmp_path / "area")
    url = request.getfixturevalue("aws_endpoint_url")
    aws = AwsConfig(region="us-east-1", endpoint_url=url)
    bucket = f"area-{uuid.uuid4().hex[:10]}"
    client("s3", aws).create_bucket(Bucket=bucket)
    return Area(f"s3://{bucket}/runs/r1", aws)


def test_put_get_exists_list(area: Area, tmp_path: Path) -> None:
    area.put_bytes("cat/s1/db/2026-01-01/p0/t.parquet", b"abc")
    src = tmp_path / "src.bin"
    src.write_bytes(b"\x00" * 1000)
    area.put_file("cat/s1/db/2026-01-01/p1/t.parquet", src)
    area.put_bytes("cat/s2/x.json", b"{}")
    area.put_bytes("other/y.json", b"[]")

    assert area.get_bytes("cat/s1/db/2026-01-01/p0/t.parquet") == b"abc"
    assert area.get_bytes("cat/s1/db/2026-01-01/p1/t.parquet") == b"\x00" * 1000
    assert src.exists()  # put_file copies unless asked to move
    assert area.exists("cat/s2/x.json")
    assert area.size("cat/s1/db/2026-01-01/p1/t.parquet") == 1000
    assert not area.exists("cat/s2/missing.json")
    assert area.list("cat/s1/") == ["cat/s1/db/2026-01-01/p0/t.parquet", "cat/s1/db/2026-01-01/p1/t.parquet"]
    # a string prefix, as S3 lists: "cat/s" matches s1 and s2
    assert len(area.list("cat/s")) == 3
    assert area.list("nothing/") == []
    assert len(area.list()) == 4
    with pytest.raises(FileNotFoundError, match=r"missing\.json"):
        area.get_bytes("cat/s2/missing.json")


def test_overwrite_replaces_whole_file(area: Area) -> None:
    area.put_bytes("a/f.json", b"first version, longer")
    area.put_bytes("a/f.json", b"second")
    assert area.get_bytes("a/f.json") == b"second"
    assert area.list("a/") == ["a/f.json"]


def test_delete_prefix_deletes_only_under_it(area: Area) -> None:
    for i in range(3):
        area.put_bytes(f"cat/s1/p{i}.parquet", b"x")
    area.put_bytes("cat/s10/keep.parquet", b"y")
    area.put_bytes("keep/z", b"z")
    assert area.delete_prefix("cat/s1/") == 3
    assert area.list() == ["cat/s10/keep.parquet", "keep/z"]
    assert area.delete_prefix("cat/s1/") == 0


def test_move_and_put_file_move(area: Area, tmp_path: Path) -> None:
    area.put_bytes("stage/part-0.parquet", b"data")
    area.move("stage/part-0.parquet", "final/p0.parquet")
    assert area.list() == ["final/p0.parquet"]
    assert area.get_bytes("final/p0.parquet") == b"data"
    src = tmp_path / "moved.bin"
    src.write_bytes(b"moved")
    area.put_file("final/p1.parquet", src, move=True)
    assert not src.exists()
    assert area.get_bytes("final/p1.parquet") == b"moved"


def test_url_and_pickle(area: Area) -> None:
    area.put_bytes("x/y.bin", b"1")
    url = area.url("x/y.bin")
    if area.is_s3:
        assert url == f"s3://{area.bucket}/runs/r1/x/y.bin"
        assert area.local_path("x/y.bin") is None
    else:
        assert Path(url).read_bytes() == b"1"
        assert area.local_path("x/y.bin") == Path(url)
    # Spark ships areas to its tasks: a used area (with a client) pickles and still works
    copy = pickle.loads(pickle.dumps(area))
    assert copy.get_bytes("x/y.bin") == b"1"


def test_local_temp_files_are_hidden_and_writes_leave_none(tmp_path: Path) -> None:
    area = Area(tmp_path)
    area.put_bytes("d/f.parquet", b"1")
    (tmp_path / "d" / ".f2.parquet.abc123.tmp").write_bytes(b"half")  # a crashed writer's leftover
    assert area.list() == ["d/f.parquet"]
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [".f2.parquet.abc123.tmp", "f.parquet"]


def test_local_failed_write_leaves_no_file(tmp_path: Path) -> None:
    area = Area(tmp_path)
    with pytest.raises(FileNotFoundError):
        area.put_file("d/f.parquet", tmp_path / "does-not-exist")
    assert area.list() == []
    assert list((tmp_path / "d").iterdir()) == []


@pytest.mark.parametrize("rel", ["", "../x", "a//b", "a/./b"])
def test_bad_relative_paths_are_refused(tmp_path: Path, rel: str) -> None:
    with pytest.raises(AreaError, match="relative path"):
        Area(tmp_path).put_bytes(rel, b"x")


def test_s3_location_without_bucket_is_refused() -> None:
    with pytest.raises(AreaError, match="no bucket"):
        Area("s3:///prefix")
