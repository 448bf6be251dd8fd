"""S3 naming and envelope encryption of the emulated RDS's objects (decrypt side: `cryptography`, not dbshift)."""

from __future__ import annotations

import base64
import contextlib
import json
import os

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from dbshift.estate.sqlserver.rds_crypto import (
    S3Location,
    aes_cbc_decrypt,
    aes_cbc_encrypt,
    native_backup_metadata,
    tlog_encryption_context,
    tlog_object_metadata,
    tlog_object_name,
)


def _independent_decrypt(ciphertext: bytes, key: bytes, iv: bytes) -> bytes:
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(dec.update(ciphertext) + dec.finalize()) + unpadder.finalize()


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 4096, 100_003])
def test_aes_cbc_is_standard_aes256_cbc_pkcs7(size: int) -> None:
    key, plaintext = os.urandom(32), os.urandom(size)
    ciphertext, iv = aes_cbc_encrypt(plaintext, key)
    assert len(iv) == 16
    assert len(ciphertext) == (size // 16 + 1) * 16  # PKCS#7 always adds 1..16 bytes
    assert _independent_decrypt(ciphertext, key, iv) == plaintext
    assert aes_cbc_decrypt(ciphertext, key, iv) == plaintext


def test_fresh_iv_every_time() -> None:
    key = os.urandom(32)
    assert aes_cbc_encrypt(b"same", key)[1] != aes_cbc_encrypt(b"same", key)[1]


def test_wrong_key_fails_or_differs() -> None:
    ciphertext, iv = aes_cbc_encrypt(b"x" * 100, os.urandom(32))
    with contextlib.suppress(ValueError):  # bad padding: the usual outcome
        assert aes_cbc_decrypt(ciphertext, os.urandom(32), iv) != b"x" * 100


def test_key_must_be_256_bits() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        aes_cbc_encrypt(b"x", os.urandom(16))


def test_s3_arn_parsing() -> None:
    loc = S3Location.parse("arn:aws:s3:::my-bucket/folder/sub/db.bak")
    assert (loc.bucket, loc.key) == ("my-bucket", "folder/sub/db.bak")
    assert loc.arn == "arn:aws:s3:::my-bucket/folder/sub/db.bak"
    assert S3Location.parse("arn:aws:s3:::b").key == ""
    assert S3Location.parse("arn:aws:s3:::b/logs/").child("x/y").key == "logs/x/y"
    assert S3Location.parse("arn:aws:s3:::b").child("x").key == "x"
    assert S3Location.parse("arn:aws-cn:s3:::b/k").bucket == "b"
    for bad in ("s3://b/k", "arn:aws:s3:::", "arn:aws:kms:us-east-1:1:key/x", "arn:aws:s3::: /k"):
        with pytest.raises(ValueError, match="not an Amazon S3 ARN"):
            S3Location.parse(bad)


def test_tlog_object_name_follows_rds_convention() -> None:
    guid = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
    assert tlog_object_name(7, guid, 3507, 1663274641) == f"7.{guid}/7.{guid}.3507.1663274641"


def test_tlog_metadata() -> None:
    meta = tlog_object_metadata(b"wrapped", b"i" * 16, "arn:aws:kms:us-east-1:1:key/k", "db-ABC", 1234)
    assert base64.b64decode(meta["x-amz-key"]) == b"wrapped"
    assert base64.b64decode(meta["x-amz-iv"]) == b"i" * 16
    assert json.loads(meta["x-amz-matdesc"]) == {"kms_cmk_id": "arn:aws:kms:us-east-1:1:key/k"}
    assert meta["dbresourceid"] == "db-ABC"
    assert meta["x-amz-unencrypted-content-length"] == "1234"
    assert tlog_encryption_context("db-ABC") == {"aws:rds:db-id": "db-ABC"}


def test_native_backup_metadata_is_s3_encryption_client_format() -> None:
    meta = native_backup_metadata(b"w", b"v" * 16, "arn:k", 9)
    assert meta["x-amz-wrap-alg"] == "kms"
    assert meta["x-amz-cek-alg"] == "AES/CBC/PKCS5Padding"
    assert json.loads(meta["x-amz-matdesc"]) == {"kms_cmk_id": "arn:k"}
    assert base64.b64decode(meta["x-amz-key-v2"]) == b"w"
