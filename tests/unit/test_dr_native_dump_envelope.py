"""envelope_stream: AES-256-GCM frames under a KMS data key (real KMS calls against the moto server).

Small frames (64 bytes) make every boundary case cheap: empty, partial, exact and many frames;
any flipped byte, a dropped or reordered frame, a truncation at a frame boundary, and a wrong key
are refused, and no plaintext of an unverified frame is ever returned.
"""

from __future__ import annotations

import os
import random

import pytest

from dbshift.aws.clients import AwsConfig, client
from dbshift.dr import envelope_stream as es
from dbshift.dr.native_dump import Manifest, TableCheck, _differences

FRAME = 64
CTX = {"dbshift:purpose": "test", "dbshift:object": "s3://b/k"}


@pytest.fixture(scope="module")
def kms(aws_endpoint_url: str):
    return client("kms", AwsConfig(region="us-west-2", endpoint_url=aws_endpoint_url))


@pytest.fixture(scope="module")
def key_arn(kms) -> str:
    return kms.create_key(Description="envelope_stream test")["KeyMetadata"]["Arn"]


def _encrypt(kms, key_arn: str, plain: bytes, pieces: int = 7) -> bytes:
    enc = es.new_encryptor(kms, key_arn, CTX, frame=FRAME)
    out = [enc.start()]
    rng = random.Random(len(plain))
    pos = 0
    while pos < len(plain):
        step = rng.randint(1, max(1, len(plain) // pieces + 1))
        out.append(enc.update(plain[pos : pos + step]))
        pos += step
    out.append(enc.finish())
    return b"".join(out)


def _decrypt_in_pieces(kms, blob: bytes, key_id: str | None = None) -> tuple[bytes, list[bytes]]:
    """Plaintext and the pieces handed out before any error (in `released`)."""
    dec = es.Decryptor(kms, "s3://b/k", key_id)
    released: list[bytes] = []
    for i in range(0, len(blob), 37):
        released.append(dec.update(blob[i : i + 37]))
    released.append(dec.finish())
    return b"".join(released), released


def _header_len(blob: bytes) -> int:
    return len(es.MAGIC) + 4 + int.from_bytes(blob[len(es.MAGIC) : len(es.MAGIC) + 4], "big")


@pytest.mark.parametrize("size", [0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME, 10 * FRAME + 17])
def test_round_trip_every_boundary(kms, key_arn: str, size: int) -> None:
    plain = os.urandom(size)
    blob = _encrypt(kms, key_arn, plain)
    frames = max(1, -(-size // FRAME))
    assert len(blob) == _header_len(blob) + size + 16 * frames
    assert _decrypt_in_pieces(kms, blob, key_arn)[0] == plain
    assert es.decrypt_bytes(kms, "x", blob) == plain  # the header names the key


def test_ciphertext_and_header_hide_the_plaintext(kms, key_arn: str) -> None:
    plain = b"CREATE TABLE secret_table (id int); line with\nnewline " * 20
    blob = _encrypt(kms, key_arn, plain)
    assert b"secret_table" not in blob and b"newline" not in blob
    header = es.Header.decode(blob[len(es.MAGIC) + 4 : _header_len(blob)], "x")
    assert header.kms_key_id == key_arn and header.context == CTX and header.frame == FRAME


def test_each_object_gets_its_own_data_key_and_nonce(kms, key_arn: str) -> None:
    a, b = _encrypt(kms, key_arn, b"same" * 50), _encrypt(kms, key_arn, b"same" * 50)
    ha, hb = (es.Header.decode(x[len(es.MAGIC) + 4 : _header_len(x)], "x") for x in (a, b))
    assert ha.encrypted_data_key != hb.encrypted_data_key and ha.nonce_prefix != hb.nonce_prefix
    assert a[_header_len(a) :] != b[_header_len(b) :]


@pytest.mark.parametrize("where", ["header", "first-frame", "middle-frame-tag", "last-byte"])
def test_one_flipped_byte_is_refused(kms, key_arn: str, where: str) -> None:
    plain = os.urandom(5 * FRAME + 9)
    blob = bytearray(_encrypt(kms, key_arn, plain))
    h = _header_len(bytes(blob))
    size = FRAME + 16
    pos = {
        "header": h - 3,  # inside the JSON (the header is every frame's AAD, or its JSON breaks)
        "first-frame": h + 5,
        "middle-frame-tag": h + 2 * size + FRAME + 3,
        "last-byte": len(blob) - 1,
    }[where]
    blob[pos] ^= 0x01
    dec = es.Decryptor(kms, "s3://b/k")
    released = b""
    with pytest.raises(es.EnvelopeError) as err:
        for i in range(0, len(blob), 50):
            released += dec.update(bytes(blob[i : i + 50]))
        released += dec.finish()
    assert "s3://b/k" in str(err.value)
    # Only whole frames before the damaged one were released, and they are the true plaintext.
    damaged_frame = max(0, (pos - h) // size)
    assert released == plain[: len(released)] and len(released) <= damaged_frame * FRAME


def test_truncation_at_a_frame_boundary_is_refused(kms, key_arn: str) -> None:
    plain = os.urandom(4 * FRAME)
    blob = _encrypt(kms, key_arn, plain)
    cut = _header_len(blob) + 2 * (FRAME + 16)
    with pytest.raises(es.EnvelopeError, match="last frame: the object is truncated"):
        es.decrypt_bytes(kms, "x", blob[:cut])
    with pytest.raises(es.EnvelopeError, match="truncated"):
        es.decrypt_bytes(kms, "x", blob[: _header_len(blob) + 5])
    with pytest.raises(es.EnvelopeError, match="inside the encryption header"):
        es.decrypt_bytes(kms, "x", blob[:10])


def test_reordered_frames_are_refused(kms, key_arn: str) -> None:
    blob = _encrypt(kms, key_arn, os.urandom(4 * FRAME + 1))
    h, size = _header_len(blob), FRAME + 16
    frames = [blob[h + i * size : h + (i + 1) * size] for i in range(5)]
    swapped = blob[:h] + frames[1] + frames[0] + b"".join(frames[2:])
    with pytest.raises(es.EnvelopeError, match=r"frame 0 .*failed authentication"):
        es.decrypt_bytes(kms, "x", swapped)


def test_a_different_key_is_refused_before_any_plaintext(kms, key_arn: str) -> None:
    other = kms.create_key(Description="other")["KeyMetadata"]["Arn"]
    blob = _encrypt(kms, key_arn, b"x" * 300)
    with pytest.raises(es.EnvelopeError, match=f"not {other}"):
        es.Decryptor(kms, "x", other).update(blob)


def test_not_a_dbshift_object(kms) -> None:
    with pytest.raises(es.EnvelopeError, match="not a dbshift-encrypted object"):
        es.decrypt_bytes(kms, "s3://b/plain.dump", b"PGDMP\x01\x0e\x00" + b"\x00" * 40)


def test_generate_data_key_with_a_missing_key_names_it(kms) -> None:
    with pytest.raises(es.EnvelopeError, match="alias/does-not-exist"):
        es.new_encryptor(kms, "alias/does-not-exist", CTX)


def test_manifest_round_trip_and_differences() -> None:
    m = Manifest("postgresql", "db", "15", "pg_dump-custom", "zstd", "arn:k", "s", {"a.t": TableCheck(3, "99")})
    again = Manifest.from_json(m.to_json(), "x")
    assert again == m and again.same_source(m)
    changed = Manifest.from_json(m.to_json(), "x")
    changed.tables = {"a.t": TableCheck(3, "98"), "a.u": TableCheck(0, "0")}
    assert not m.same_source(changed)
    assert _differences(m.tables, changed.tables) == ["a.t: content hash differs (3 rows)", "a.u: not in the dump"]
    assert _differences(changed.tables, {"a.t": TableCheck(2, "98")}) == [
        "a.t: 2 rows, the dump has 3",
        "a.u: missing",
    ]
