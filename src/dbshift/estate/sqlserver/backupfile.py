"""The emulator's backup media format (what BACKUP ... TO DISK writes; not Microsoft Tape Format).

A media file is:

    b"DBSHIFT-EMULATED-BACKUP\\n"              magic
    one or more backup sets, each:
        u64 big-endian  header length, then the header as UTF-8 JSON
        u64 big-endian  payload length, then the payload bytes

The JSON header holds the BackupHeader fields ("header"), the database files ("files":
logical_name, physical_name, type "D"/"L", file_id), "position" (1-based set number), "compressed",
"payload_sha256" (of the stored payload bytes) and, for a TDE database, "tde": {"thumbprint",
"wrapped_dek" (hex, the DEK wrapped by the certificate's RSA public key)}.

Payload, before optional zlib compression (WITH COMPRESSION) and TDE encryption (AES-256-GCM under
the DEK; the GCM tag authenticates it):
- full database backup: the SQLite image of the database (data plus its log records table);
- log backup: JSON {"records": [[lsn, kind, payload], ...]} for FirstLSN <= lsn < LastLSN.

BACKUP WITH INIT/FORMAT starts a new media file; without them the set is appended (NOINIT), as
SQL Server does. RESTORE reads FILE = n (default 1).
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any

from dbshift.estate.sqlserver.model import BackupHeader

MAGIC = b"DBSHIFT-EMULATED-BACKUP\n"


@dataclass
class BackupFileEntry:
    logical_name: str
    physical_name: str
    type: str  # "D" | "L"
    file_id: int
    size: int = 0


@dataclass
class BackupSet:
    header: BackupHeader
    files: list[BackupFileEntry]
    payload: bytes  # as stored (possibly compressed and encrypted)
    position: int = 1
    compressed: bool = False
    tde: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def header_json(self) -> dict[str, Any]:
        return {
            "header": self.header.to_json(),
            "files": [vars(f) for f in self.files],
            "position": self.position,
            "compressed": self.compressed,
            "tde": self.tde,
            "payload_sha256": hashlib.sha256(self.payload).hexdigest(),
            "extra": self.extra,
        }


class BadMedia(ValueError):
    """The bytes are not an emulator backup (SQL Server: Msg 3241, media family incorrectly formed)."""


def encode(sets: list[BackupSet]) -> bytes:
    out = [MAGIC]
    for s in sets:
        h = json.dumps(s.header_json(), sort_keys=True).encode()
        out += [struct.pack(">Q", len(h)), h, struct.pack(">Q", len(s.payload)), s.payload]
    return b"".join(out)


def decode(data: bytes) -> list[BackupSet]:
    if not data.startswith(MAGIC):
        raise BadMedia("missing DBSHIFT-EMULATED-BACKUP magic")
    pos, sets = len(MAGIC), []
    try:
        while pos < len(data):
            (hl,) = struct.unpack_from(">Q", data, pos)
            h = json.loads(data[pos + 8 : pos + 8 + hl])
            pos += 8 + hl
            (pl,) = struct.unpack_from(">Q", data, pos)
            payload = data[pos + 8 : pos + 8 + pl]
            pos += 8 + pl
            if len(payload) != pl or hashlib.sha256(payload).hexdigest() != h["payload_sha256"]:
                raise BadMedia("backup set payload is truncated or corrupt")
            sets.append(
                BackupSet(
                    header=BackupHeader.from_json(h["header"]),
                    files=[BackupFileEntry(**f) for f in h["files"]],
                    payload=payload,
                    position=int(h["position"]),
                    compressed=bool(h["compressed"]),
                    tde=h.get("tde"),
                    extra=h.get("extra") or {},
                )
            )
    except (struct.error, KeyError, ValueError, TypeError) as e:
        if isinstance(e, BadMedia):
            raise
        raise BadMedia(f"malformed backup set: {e}") from e
    if not sets:
        raise BadMedia("media holds no backup set")
    return sets
