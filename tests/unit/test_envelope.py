"""envelope: metadata parsing and the streaming AES-CBC decryptor (no AWS needed)."""

from __future__ import annotations

import json
import os

import pytest

from dbshift.estate.sqlserver import rds_crypto
from dbshift.fallforward.envelope import Decryptor, EnvelopeError, parse_envelope

NAME = "s3://b/tlogs/1.G.5.100"
ARN = "arn:aws:kms:us-east-1:123456789012:key/k1"


def _encrypted(size: int) -> tuple[bytes, bytes, dict[str, str], bytes]:
    data, key = os.urandom(size), os.urandom(32)
    body, iv = rds_crypto.aes_cbc_encrypt(data, key)
    meta = rds_crypto.tlog_object_metadata(b"wrapped", iv, ARN, "db-X", len(data))
    return data, body, meta, key


def _stream(dec: Decryptor, body: bytes, sizes: list[int]) -> bytes:
    out, pos, i = [], 0, 0
    while pos < len(body):
        n = sizes[i % len(sizes)]
        out.append(bytes(dec.update(body[pos : pos + n])))  # a view valid until the next call
        pos, i = pos + n, i + 1
    out.append(dec.finish())
    return b"".join(out)


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 4096, 100_003])
@pytest.mark.parametrize("sizes", [[1], [7, 16, 33], [1 << 20]])
def test_stream_decrypt_any_chunking(size: int, sizes: list[int]) -> None:
    data, body, meta, key = _encrypted(size)
    env = parse_envelope(meta, NAME)
    assert env.kind == "v1" and env.context == {"aws:rds:db-id": "db-X"} and env.kms_key_id == ARN
    assert _stream(Decryptor(env, key), body, sizes) == data


def test_v2_context_is_the_matdesc_and_plain_passes_through() -> None:
    meta = rds_crypto.native_backup_metadata(b"w", os.urandom(16), ARN, 10)
    env = parse_envelope(meta, NAME)
    assert env.kind == "v2" and env.context == {"kms_cmk_id": ARN} and env.plaintext_length == 10
    plain = parse_envelope({"dbresourceid": "db-X", "x-amz-unencrypted-content-length": "3"}, NAME)
    assert plain.kind == "plain"
    dec = Decryptor(plain, None)
    assert bytes(dec.update(b"abc")) == b"abc" and dec.finish() == b""
    short = Decryptor(plain, None)
    short.update(b"ab")
    with pytest.raises(EnvelopeError, match="truncated or altered"):
        short.finish()


@pytest.mark.parametrize(
    ("drop", "missing"),
    [("x-amz-iv", "x-amz-iv"), ("dbresourceid", "dbresourceid"), ("x-amz-key", "x-amz-key")],
)
def test_missing_metadata_names_the_keys_and_object(drop: str, missing: str) -> None:
    _, _, meta, _ = _encrypted(10)
    del meta[drop]
    with pytest.raises(EnvelopeError, match=f"{NAME}: encrypted object without metadata {missing}"):
        parse_envelope(meta, NAME)


def test_damaged_metadata_values() -> None:
    _, _, meta, _ = _encrypted(10)
    with pytest.raises(EnvelopeError, match="x-amz-matdesc is not a JSON object"):
        parse_envelope({**meta, "x-amz-matdesc": "nope"}, NAME)
    with pytest.raises(EnvelopeError, match="x-amz-iv is 4 bytes"):
        parse_envelope({**meta, "x-amz-iv": "AAAAAA=="}, NAME)
    with pytest.raises(EnvelopeError, match="not base64"):
        parse_envelope({**meta, "x-amz-key": "***"}, NAME)
    v2 = rds_crypto.native_backup_metadata(b"w", os.urandom(16), ARN, 10)
    with pytest.raises(EnvelopeError, match="AES/CBC/PKCS5Padding"):
        parse_envelope({**v2, "x-amz-cek-alg": "AES/GCM/NoPadding"}, NAME)
    assert json.loads(v2["x-amz-matdesc"]) == {"kms_cmk_id": ARN}


def test_wrong_key_is_bad_padding_and_truncation_is_named() -> None:
    data, body, meta, key = _encrypted(50_000)
    env = parse_envelope(meta, NAME)
    with pytest.raises(EnvelopeError, match=r"bad padding|wrong data key"):
        _stream(Decryptor(env, os.urandom(32)), body, [4096])
    with pytest.raises(EnvelopeError, match=r"truncated object: .* not a whole number of AES blocks"):
        _stream(Decryptor(env, key), body[:-3], [4096])
    with pytest.raises(EnvelopeError, match="truncated or altered object"):
        _stream(Decryptor(env, key), body[:-16], [4096])
    no_length = parse_envelope({k: v for k, v in meta.items() if k != "x-amz-unencrypted-content-length"}, NAME)
    assert _stream(Decryptor(no_length, key), body, [999]) == data
