"""Streaming decryption of S3 objects envelope-encrypted under KMS (the formats RDS for SQL Server writes).

- v1, transaction-log copies (rds_tlog_backup_copy_to_S3): user metadata x-amz-key (base64 KMS
  ciphertext of the data key), x-amz-iv, x-amz-matdesc {"kms_cmk_id": arn}, dbresourceid; the data
  key's KMS encryption context is {"aws:rds:db-id": <dbresourceid>}.
- v2, native backups written with @kms_master_key_arn (the S3 encryption client's KMS format):
  x-amz-key-v2, x-amz-iv, x-amz-wrap-alg = kms, x-amz-cek-alg = AES/CBC/PKCS5Padding,
  x-amz-matdesc; the encryption context is the material description itself.
Both: AES-256-CBC with PKCS#7 padding; x-amz-unencrypted-content-length when present.

An object with none of the envelope keys is plain (e.g. a log copy made without @kms_key_arn).
`Decryptor` takes the body chunk by chunk and holds back the last block until `finish`, where the
padding and the length are checked: nothing decrypted is trusted before the whole object is.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dbshift.aws.lazy_errors import botocore_error, client_error
from dbshift.errors import DbshiftError

BLOCK = 16
KEY_BYTES = 32
TLOG_CONTEXT_KEY = "aws:rds:db-id"
CEK_ALG = "AES/CBC/PKCS5Padding"
_ENVELOPE_KEYS = ("x-amz-key", "x-amz-key-v2", "x-amz-iv", "x-amz-matdesc", "x-amz-wrap-alg", "x-amz-cek-alg")


class EnvelopeError(DbshiftError):
    """An encrypted object cannot be decrypted (metadata, KMS, padding or length)."""


@dataclass(frozen=True)
class Envelope:
    """How one object is encrypted, read from its S3 user metadata. kind: "plain", "v1" or "v2"."""

    kind: str
    name: str  # s3://bucket/key, for messages
    wrapped_key: bytes = field(default=b"", repr=False)
    iv: bytes = b""
    context: dict[str, str] = field(default_factory=dict)
    kms_key_id: str | None = None
    plaintext_length: int | None = None

    @property
    def encrypted(self) -> bool:
        return self.kind != "plain"


def _b64(meta: Mapping[str, str], key: str, name: str) -> bytes:
    try:
        return base64.b64decode(meta[key], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError(f"{name}: metadata {key} is not base64 ({exc}); the object's metadata is damaged") from exc


def parse_envelope(metadata: Mapping[str, str], name: str) -> Envelope:
    """The Envelope of an object from its user metadata (boto3's Metadata dict; keys lowercase)."""
    meta = {k.lower(): v for k, v in metadata.items()}
    length = None
    if "x-amz-unencrypted-content-length" in meta:
        try:
            length = int(meta["x-amz-unencrypted-content-length"])
        except ValueError:
            raise EnvelopeError(
                f"{name}: metadata x-amz-unencrypted-content-length is {meta['x-amz-unencrypted-content-length']!r}, "
                "not a number; the object's metadata is damaged"
            ) from None
    present = [k for k in _ENVELOPE_KEYS if k in meta]
    if not present:
        return Envelope("plain", name, plaintext_length=length)
    kind = "v2" if "x-amz-key-v2" in meta else "v1"
    required = ["x-amz-iv", "x-amz-matdesc"] + (["x-amz-key-v2", "x-amz-wrap-alg"] if kind == "v2" else ["x-amz-key"])
    if kind == "v1":
        required.append("dbresourceid")
    missing = [k for k in required if not meta.get(k)]
    if missing:
        raise EnvelopeError(
            f"{name}: encrypted object without metadata {', '.join(missing)} (it has {', '.join(present)}); "
            "copy the object again with its metadata (S3 CopyObject keeps it; a re-upload does not), "
            "or copy the log backup again from RDS"
        )
    try:
        matdesc = json.loads(meta["x-amz-matdesc"])
        if not isinstance(matdesc, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        raise EnvelopeError(f"{name}: metadata x-amz-matdesc is not a JSON object ({exc}); it is damaged") from exc
    if kind == "v2":
        if meta["x-amz-wrap-alg"].lower() != "kms":
            raise EnvelopeError(
                f"{name}: x-amz-wrap-alg is {meta['x-amz-wrap-alg']!r}; dbshift decrypts only KMS-wrapped keys ('kms')"
            )
        if meta.get("x-amz-cek-alg", CEK_ALG) != CEK_ALG:
            raise EnvelopeError(
                f"{name}: x-amz-cek-alg is {meta['x-amz-cek-alg']!r}; dbshift decrypts only {CEK_ALG} objects"
            )
        context = {str(k): str(v) for k, v in matdesc.items()}
        wrapped = _b64(meta, "x-amz-key-v2", name)
    else:
        context = {TLOG_CONTEXT_KEY: meta["dbresourceid"]}
        wrapped = _b64(meta, "x-amz-key", name)
    iv = _b64(meta, "x-amz-iv", name)
    if len(iv) != BLOCK:
        raise EnvelopeError(f"{name}: x-amz-iv is {len(iv)} bytes, expected {BLOCK}; the metadata is damaged")
    key_id = matdesc.get("kms_cmk_id")
    return Envelope(kind, name, wrapped, iv, context, str(key_id) if key_id else None, length)


def unwrap_data_key(env: Envelope, kms: Any, kms_key_id: str | None = None) -> bytes:
    """KMS Decrypt of the object's data key with its encryption context. `kms_key_id` (default: the
    key named in x-amz-matdesc) is passed as KeyId so that a key mix-up fails here, not later."""
    key_id = kms_key_id or env.kms_key_id
    kwargs: dict[str, Any] = {"CiphertextBlob": env.wrapped_key, "EncryptionContext": env.context}
    if key_id:
        kwargs["KeyId"] = key_id
    try:
        plaintext = kms.decrypt(**kwargs)["Plaintext"]
    except client_error() as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        msg = exc.response.get("Error", {}).get("Message", "")
        ctx = json.dumps(env.context)
        if code == "InvalidCiphertextException":
            raise EnvelopeError(
                f"{env.name}: KMS rejected the data key (InvalidCiphertextException) with encryption context {ctx}: "
                "the context does not match the one the key was wrapped with (for log copies, the dbresourceid "
                "metadata must be the source instance's DbiResourceId) or the x-amz-key metadata is damaged"
            ) from None
        if code in ("IncorrectKeyException", "AccessDeniedException", "NotFoundException"):
            raise EnvelopeError(
                f"{env.name}: KMS {code} decrypting the data key with key {key_id or '(from the ciphertext)'}: "
                "the object was encrypted under a different KMS key, or this role may not use it; pass the key "
                f"the log copies were made with and allow kms:Decrypt on it ({msg})"
            ) from None
        if code in ("DisabledException", "KMSInvalidStateException", "KeyUnavailableException"):
            raise EnvelopeError(
                f"{env.name}: KMS key {key_id} cannot decrypt now ({code}: {msg}); enable the key"
            ) from None
        raise EnvelopeError(f"{env.name}: KMS Decrypt failed: {code}: {msg}") from None
    except botocore_error() as exc:
        raise EnvelopeError(f"{env.name}: KMS Decrypt failed: {exc}") from exc
    if len(plaintext) != KEY_BYTES:
        raise EnvelopeError(
            f"{env.name}: the KMS plaintext of the data key is {len(plaintext)} bytes, not {KEY_BYTES} (AES-256); "
            "the object was not written in the RDS envelope format"
        )
    return plaintext


class Decryptor:
    """AES-256-CBC/PKCS#7 over a stream. update() returns plaintext that is safe to write to a
    temporary file (a view valid until the next call: no copies); finish() returns the last bytes
    after checking padding and length. A plain object passes through (only the length is checked).

    OpenSSL (the `cryptography` package) decrypts CBC into a reused buffer at GB/s; pycryptodomex's
    CBC is ~10x slower here and would not hide behind the download."""

    def __init__(self, env: Envelope, data_key: bytes | None) -> None:
        self.env = env
        self.cipher_bytes = 0
        self.plain_bytes = 0
        self._dec: Any = None
        self._buf = bytearray()
        self._held = b""  # the last plaintext block so far: it carries the padding
        if env.encrypted:
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

            if data_key is None or len(data_key) != KEY_BYTES:
                raise EnvelopeError(f"{env.name}: no 256-bit data key for an encrypted object")
            self._dec = Cipher(algorithms.AES(data_key), modes.CBC(env.iv)).decryptor()

    def update(self, chunk: bytes | memoryview) -> bytes | memoryview:
        self.cipher_bytes += len(chunk)
        if self._dec is None:
            self.plain_bytes += len(chunk)
            return chunk
        held = self._held
        need = len(held) + len(chunk) + BLOCK
        if len(self._buf) < need:
            self._buf = bytearray(need)
        view = memoryview(self._buf)
        view[: len(held)] = held
        total = len(held) + self._dec.update_into(chunk, view[len(held) :])
        keep = min(total, BLOCK)
        self._held = bytes(view[total - keep : total])
        self.plain_bytes += total - keep
        return view[: total - keep]

    def finish(self) -> bytes:
        env = self.env
        expected = env.plaintext_length
        if self._dec is None:
            if expected is not None and self.plain_bytes != expected:
                raise EnvelopeError(self._length_message(self.plain_bytes))
            return b""
        if self.cipher_bytes == 0 or self.cipher_bytes % BLOCK:
            raise EnvelopeError(
                f"{env.name}: truncated object: {self.cipher_bytes} bytes is not a whole number of AES blocks; "
                "copy the log backup to S3 again"
            )
        if expected is not None and self.cipher_bytes != (expected // BLOCK + 1) * BLOCK:
            raise EnvelopeError(self._length_message(self.cipher_bytes))
        self._dec.finalize()
        last, self._held = self._held, b""
        pad = last[-1]
        if not 1 <= pad <= BLOCK or last[-pad:] != bytes([pad]) * pad:
            raise EnvelopeError(
                f"{env.name}: bad padding after decryption: the data key does not belong to this object (wrong "
                "x-amz-key/x-amz-iv metadata) or the object is corrupt; copy the log backup to S3 again"
            )
        out = last[:-pad]
        self.plain_bytes += len(out)
        if expected is not None and self.plain_bytes != expected:
            raise EnvelopeError(self._length_message(self.plain_bytes))
        return out

    def _length_message(self, got: int) -> str:
        return (
            f"{self.env.name}: truncated or altered object (or a wrong data key): x-amz-unencrypted-content-length is "
            f"{self.env.plaintext_length} but the object holds {got} bytes; copy the log backup to S3 again"
        )
