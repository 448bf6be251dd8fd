"""Streaming envelope encryption for objects dbshift writes itself: AES-256-GCM in frames under a KMS data key.

The RDS formats in dbshift.fallforward.envelope are AES-CBC, which cannot tell a corrupt or truncated
object from a good one before the last block. Dumps we write ourselves use authenticated frames,
so every frame is verified before a byte of it is handed on (to pg_restore, say):

    object  = header | frame_0 | frame_1 | ... | frame_n
    header  = MAGIC (8 bytes) | length (4 bytes, big-endian) | JSON
              {"v": 1, "alg": "AES-256-GCM", "frame": F, "kms_key_id": ARN, "edk": base64(KMS ciphertext of the
               data key), "ctx": KMS encryption context, "nonce": base64(7-byte random prefix)}
    frame_i = AES-GCM(data key, nonce = prefix | i (4 bytes) | last (1 byte), aad = header) of F plaintext bytes
              (the last frame: 0..F bytes), followed by its 16-byte tag

This is the STREAM construction (Hoang et al., 2015): the counter in the nonce catches reordered or
dropped frames, the last-frame flag catches truncation at a frame boundary, the header as AAD catches
an edited header. The header is inside the object so it survives a copy that drops S3 metadata.
The plaintext data key lives only in memory: GenerateDataKey returns it, Decrypt unwraps it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dbshift.errors import DbshiftError
from dbshift.fallforward.envelope import KEY_BYTES, Envelope, EnvelopeError, unwrap_data_key

MAGIC = b"DBSHENC1"
ALG = "AES-256-GCM"
TAG = 16
PREFIX = 7
FRAME = 1 << 20  # 1 MiB of plaintext per frame: 16 bytes of tag per MiB, and a bounded amount held back
_MAX_HEADER = 64 * 1024
_MAX_FRAMES = 1 << 32

__all__ = [
    "ALG",
    "FRAME",
    "MAGIC",
    "Decryptor",
    "Encryptor",
    "EnvelopeError",
    "Header",
    "decrypt_bytes",
    "encrypt_bytes",
    "new_encryptor",
]


@dataclass(frozen=True)
class Header:
    kms_key_id: str
    encrypted_data_key: bytes = field(repr=False)
    context: dict[str, str]
    nonce_prefix: bytes
    frame: int = FRAME

    def encode(self) -> bytes:
        body = json.dumps(
            {
                "v": 1,
                "alg": ALG,
                "frame": self.frame,
                "kms_key_id": self.kms_key_id,
                "edk": base64.b64encode(self.encrypted_data_key).decode(),
                "ctx": self.context,
                "nonce": base64.b64encode(self.nonce_prefix).decode(),
            },
            sort_keys=True,
        ).encode()
        return MAGIC + struct.pack(">I", len(body)) + body

    @classmethod
    def decode(cls, body: bytes, name: str) -> Header:
        try:
            doc = json.loads(body)
            if doc.get("v") != 1 or doc.get("alg") != ALG:
                raise ValueError(f"version {doc.get('v')!r} / algorithm {doc.get('alg')!r} unknown")
            prefix = base64.b64decode(doc["nonce"], validate=True)
            frame = int(doc["frame"])
            if len(prefix) != PREFIX or not 0 < frame <= 64 << 20:
                raise ValueError("nonce prefix or frame size out of range")
            return cls(
                kms_key_id=str(doc["kms_key_id"]),
                encrypted_data_key=base64.b64decode(doc["edk"], validate=True),
                context={str(k): str(v) for k, v in dict(doc["ctx"]).items()},
                nonce_prefix=prefix,
                frame=frame,
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise EnvelopeError(
                f"{name}: the encryption header is damaged ({exc}); the object was not written by dbshift's "
                "dump or was altered: write it again"
            ) from None


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= _MAX_FRAMES:
        raise EnvelopeError(f"more than {_MAX_FRAMES} frames in one object: raise the frame size")
    return prefix + struct.pack(">IB", index, 1 if last else 0)


def _kms_error(exc: Exception, what: str, key_id: str) -> DbshiftError:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        msg = exc.response.get("Error", {}).get("Message", "")
        return EnvelopeError(
            f"KMS {what} with key {key_id} failed ({code}: {msg}): pass a symmetric, enabled KMS key of the "
            "target region that this role may use (kms:GenerateDataKey, kms:Decrypt)"
        )
    return EnvelopeError(f"KMS {what} with key {key_id} failed: {exc}")


class Encryptor:
    """Takes plaintext in any pieces, returns whole encrypted frames; `finish` returns the last frame."""

    def __init__(self, header: Header, data_key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.header = header
        self._aad = header.encode()
        self._gcm = AESGCM(data_key)
        self._buf = bytearray()
        self._index = 0
        self.plain_bytes = 0

    def start(self) -> bytes:
        return self._aad

    def update(self, data: bytes | memoryview) -> bytes:
        self.plain_bytes += len(data)
        self._buf += data
        frame = self.header.frame
        out = []
        # Keep at least one byte back: the last frame must be encrypted with the last flag set.
        while len(self._buf) > frame:
            out.append(self._seal(bytes(self._buf[:frame]), last=False))
            del self._buf[:frame]
        return b"".join(out)

    def finish(self) -> bytes:
        out = self._seal(bytes(self._buf), last=True)
        self._buf.clear()
        return out

    def _seal(self, plain: bytes, last: bool) -> bytes:
        sealed = self._gcm.encrypt(_nonce(self.header.nonce_prefix, self._index, last), plain, self._aad)
        self._index += 1
        return sealed


def new_encryptor(kms: Any, kms_key_id: str, context: Mapping[str, str], frame: int = FRAME) -> Encryptor:
    """A fresh data key from KMS GenerateDataKey (one per object) and an Encryptor around it."""
    from botocore.exceptions import BotoCoreError, ClientError

    ctx = dict(context)
    try:
        resp = kms.generate_data_key(KeyId=kms_key_id, KeySpec="AES_256", EncryptionContext=ctx)
    except (ClientError, BotoCoreError) as exc:
        raise _kms_error(exc, "GenerateDataKey", kms_key_id) from None
    plaintext = resp["Plaintext"]
    if len(plaintext) != KEY_BYTES:
        raise EnvelopeError(f"KMS GenerateDataKey with key {kms_key_id} returned a {len(plaintext)}-byte key, not 32")
    # KeyId in the response is the key's ARN: the header names the key even when an alias was passed.
    header = Header(str(resp.get("KeyId") or kms_key_id), resp["CiphertextBlob"], ctx, os.urandom(PREFIX), frame)
    return Encryptor(header, plaintext)


class Decryptor:
    """Takes the object in any pieces (header first); returns only plaintext whose frame tag verified.

    `finish` raises when the object ended early (a missing last frame). `kms_key_id`, when given, must
    be the key that wrapped the data key: a mix-up fails at KMS, before any plaintext exists."""

    def __init__(self, kms: Any, name: str, kms_key_id: str | None = None) -> None:
        self.kms, self.name, self.kms_key_id = kms, name, kms_key_id
        self.header: Header | None = None
        self._aad = b""
        self._gcm: Any = None
        self._buf = bytearray()
        self._index = 0
        self.cipher_bytes = 0
        self.plain_bytes = 0

    def update(self, data: bytes | memoryview) -> bytes:
        self.cipher_bytes += len(data)
        self._buf += data
        if self._gcm is None and not self._read_header():
            return b""
        size = self.header.frame + TAG  # type: ignore[union-attr]
        out = []
        # A frame is opened only when more bytes follow it: the one at the end may be the last frame.
        while len(self._buf) > size:
            out.append(self._open(bytes(self._buf[:size]), last=False))
            del self._buf[:size]
        return b"".join(out)

    def finish(self) -> bytes:
        if self._gcm is None:
            raise EnvelopeError(
                f"{self.name}: truncated object: {self.cipher_bytes} bytes end inside the encryption header; "
                "write the object again"
            )
        if len(self._buf) < TAG:
            raise EnvelopeError(self._truncated())
        out = self._open(bytes(self._buf), last=True)
        self._buf.clear()
        return out

    def _read_header(self) -> bool:
        if len(self._buf) < len(MAGIC) + 4:
            return False
        if bytes(self._buf[: len(MAGIC)]) != MAGIC:
            raise EnvelopeError(
                f"{self.name}: not a dbshift-encrypted object (no {MAGIC.decode()} header); "
                "point at an object written by dbshift's dump"
            )
        (length,) = struct.unpack(">I", self._buf[len(MAGIC) : len(MAGIC) + 4])
        if length > _MAX_HEADER:
            raise EnvelopeError(f"{self.name}: the encryption header claims {length} bytes; the object is damaged")
        end = len(MAGIC) + 4 + length
        if len(self._buf) < end:
            return False
        self._aad = bytes(self._buf[:end])
        header = Header.decode(self._aad[len(MAGIC) + 4 :], self.name)
        if self.kms_key_id and _key_mismatch(self.kms_key_id, header.kms_key_id):
            raise EnvelopeError(
                f"{self.name}: encrypted under KMS key {header.kms_key_id}, not {self.kms_key_id}; pass that key "
                "(or none, to use the one the header names)"
            )
        env = Envelope(
            "gcm", self.name, header.encrypted_data_key, context=header.context, kms_key_id=header.kms_key_id
        )
        data_key = unwrap_data_key(env, self.kms, header.kms_key_id)
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._gcm = AESGCM(data_key)
        del data_key
        self.header = header
        del self._buf[:end]
        return True

    def _open(self, sealed: bytes, last: bool) -> bytes:
        from cryptography.exceptions import InvalidTag

        assert self.header is not None
        try:
            plain = self._gcm.decrypt(_nonce(self.header.nonce_prefix, self._index, last), sealed, self._aad)
        except InvalidTag:
            where = f"frame {self._index} (bytes {self.cipher_bytes - len(self._buf)} onwards)"
            if last:
                raise EnvelopeError(
                    f"{self.name}: {where} failed authentication as the last frame: the object is truncated or "
                    "corrupt; nothing decrypted from it may be used: write the object again"
                ) from None
            raise EnvelopeError(
                f"{self.name}: {where} failed authentication (AES-GCM tag mismatch): the object is corrupt or "
                "was altered; nothing decrypted from it may be used: write the object again"
            ) from None
        self._index += 1
        self.plain_bytes += len(plain)
        return plain

    def _truncated(self) -> str:
        return (
            f"{self.name}: truncated object: it ends {len(self._buf)} bytes into frame {self._index}; "
            "write the object again"
        )


def _key_mismatch(wanted: str, actual: str) -> bool:
    """True when two key references surely differ (an ARN or id vs the header's ARN); aliases are not resolved."""
    if wanted.startswith("alias/") or ":alias/" in wanted:
        return False
    return wanted.rsplit("/", 1)[-1] != actual.rsplit("/", 1)[-1]


def encrypt_bytes(kms: Any, kms_key_id: str, context: Mapping[str, str], plaintext: bytes) -> bytes:
    enc = new_encryptor(kms, kms_key_id, context)
    return enc.start() + enc.update(plaintext) + enc.finish()


def decrypt_bytes(kms: Any, name: str, blob: bytes, kms_key_id: str | None = None) -> bytes:
    dec = Decryptor(kms, name, kms_key_id)
    return dec.update(blob) + dec.finish()
