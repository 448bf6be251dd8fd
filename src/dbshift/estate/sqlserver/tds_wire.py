"""TDS 7.4 wire format for the SQL Server EMULATOR's TDS listener (MS-TDS, [MS-TDS] section numbers below).

Packets (2.2.3), PRELOGIN (2.2.6.5), LOGIN7 (2.2.6.4), SQL_BATCH (2.2.6.7) on the way in; LOGINACK,
ENVCHANGE, ERROR/INFO, COLMETADATA, ROW and DONE tokens (2.2.7) on the way out, with the data types
the emulator sends (2.2.5.4): INTN, BITN, FLTN, DECIMALN, BIGVARCHR, NVARCHAR, BIGVARBIN, DATETIME2N,
DATEN and DATETIMN. Rows are encoded by a per-result-set function generated from the column types
(precompiled struct formats, no per-value dispatch), because exports stream millions of rows.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

# -- packets (2.2.3.1) -----------------------------------------------------------------------------------
PKT_SQL_BATCH = 0x01
PKT_RPC = 0x03
PKT_REPLY = 0x04
PKT_ATTENTION = 0x06
PKT_BULK = 0x07
PKT_TRANSACTION_MANAGER = 0x0E
PKT_LOGIN7 = 0x10
PKT_SSPI = 0x11
PKT_PRELOGIN = 0x12
STATUS_EOM = 0x01
HEADER = struct.Struct(">BBHHBB")  # type, status, length (big-endian, header included), SPID, PacketID, Window

# -- versions ----------------------------------------------------------------------------------------------
TDS72 = 0x72090002
TDS73A = 0x730A0003
TDS73B = 0x730B0003
TDS74 = 0x74000004
SERVER_VERSION = (15, 0, 4322)  # SQL Server 2019 CU22, as @@VERSION reports
PROG_NAME = "dbshift SQL Server emulator"

# -- PRELOGIN options (2.2.6.5) ----------------------------------------------------------------------------
PL_VERSION = 0x00
PL_ENCRYPTION = 0x01
PL_INSTOPT = 0x02
PL_THREADID = 0x03
PL_MARS = 0x04
PL_TERMINATOR = 0xFF
ENCRYPT_OFF = 0x00
ENCRYPT_ON = 0x01
ENCRYPT_NOT_SUP = 0x02
ENCRYPT_REQ = 0x03

# -- tokens (2.2.7) ----------------------------------------------------------------------------------------
TOK_COLMETADATA = 0x81
TOK_ERROR = 0xAA
TOK_INFO = 0xAB
TOK_LOGINACK = 0xAD
TOK_ROW = 0xD1
TOK_NBCROW = 0xD2
TOK_ENVCHANGE = 0xE3
TOK_DONE = 0xFD
TOK_DONEPROC = 0xFE
TOK_DONEINPROC = 0xFF
DONE_FINAL = 0x0000
DONE_MORE = 0x0001
DONE_ERROR = 0x0002
DONE_INXACT = 0x0004
DONE_COUNT = 0x0010
DONE_ATTN = 0x0020
DONE_SRVERROR = 0x0100
ENV_DATABASE = 1
ENV_LANGUAGE = 2
ENV_PACKETSIZE = 4
ENV_COLLATION = 7
# SQL_Latin1_General_CP1_CI_AS: LCID 0x0409 with IgnoreCase|IgnoreKana|IgnoreWidth, SortId 52 (2.2.5.1.2).
COLLATION = bytes([0x09, 0x04, 0xD0, 0x00, 0x34])
CODEPAGE = "cp1252"

# -- data types (2.2.5.4) ----------------------------------------------------------------------------------
INTNTYPE = 0x26
BITNTYPE = 0x68
FLTNTYPE = 0x6D
DECIMALNTYPE = 0x6A
NUMERICNTYPE = 0x6C
DATETIMNTYPE = 0x6F
DATENTYPE = 0x28
DATETIME2NTYPE = 0x2A
BIGVARBINTYPE = 0xA5
BIGVARCHRTYPE = 0xA7
NVARCHARTYPE = 0xE7
COL_NULLABLE = 0x0001
PLP_NULL = 0xFFFFFFFFFFFFFFFF
MAX = -1  # length of (n)varchar(max) / varbinary(max)
NVARCHAR_DEFAULT = 4000  # what an untyped text column is sent as (longer values: nvarchar(max))

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_DAY1 = dt.date(1, 1, 1).toordinal()
_DAY1900 = dt.date(1900, 1, 1).toordinal()


class WireError(ValueError):
    """A malformed message from the client (the connection is closed with this text in the log)."""


# ===================================================================================== packets
def packetize(ptype: int, payload: bytes, size: int, spid: int = 0, first_id: int = 1) -> bytes:
    """payload split into packets of at most `size` bytes (header included); the last one carries EOM."""
    body = size - HEADER.size
    out = []
    n = max(1, -(-len(payload) // body))
    for i in range(n):
        chunk = payload[i * body : (i + 1) * body]
        status = STATUS_EOM if i == n - 1 else 0
        out.append(HEADER.pack(ptype, status, len(chunk) + HEADER.size, spid, (first_id + i) % 256, 0))
        out.append(chunk)
    return b"".join(out)


# ===================================================================================== PRELOGIN
def parse_prelogin(data: bytes) -> dict[int, bytes]:
    """Option token -> its bytes (2.2.6.5: [token, offset(BE), length(BE)]... 0xFF, then the data)."""
    opts: dict[int, bytes] = {}
    i = 0
    while True:
        if i >= len(data):
            raise WireError("PRELOGIN: option list has no terminator (0xFF)")
        tok = data[i]
        if tok == PL_TERMINATOR:
            return opts
        if i + 5 > len(data):
            raise WireError("PRELOGIN: truncated option header")
        off, ln = struct.unpack_from(">HH", data, i + 1)
        if off + ln > len(data):
            raise WireError(f"PRELOGIN: option {tok:#04x} points past the message")
        opts[tok] = data[off : off + ln]
        i += 5


def build_prelogin(options: Sequence[tuple[int, bytes]]) -> bytes:
    head_len = 5 * len(options) + 1
    head, body = [], []
    off = head_len
    for tok, value in options:
        head.append(struct.pack(">BHH", tok, off, len(value)))
        body.append(value)
        off += len(value)
    return b"".join(head) + bytes([PL_TERMINATOR]) + b"".join(body)


def prelogin_response(encryption: int = ENCRYPT_NOT_SUP) -> bytes:
    major, minor, build = SERVER_VERSION
    version = struct.pack(">BBHH", major, minor, build, 0)  # UL_VERSION (major, minor, build) + US_SUBBUILD
    return build_prelogin([(PL_VERSION, version), (PL_ENCRYPTION, bytes([encryption])), (PL_MARS, b"\x00")])


# ===================================================================================== LOGIN7
@dataclass
class Login7:
    tds_version: int
    packet_size: int
    client_pid: int
    hostname: str
    username: str
    password: str = ""
    appname: str = ""
    servername: str = ""
    library: str = ""
    language: str = ""
    database: str = ""

    def __repr__(self) -> str:  # never show the password
        return f"Login7(tds_version={self.tds_version:#x}, username={self.username!r}, database={self.database!r})"


_LOGIN7_FIXED = struct.Struct("<IIIIII BBBB iI")  # Length .. ClientLCID: 36 bytes
_LOGIN7_FIELDS = (
    "hostname",
    "username",
    "password",
    "appname",
    "servername",
    "extension",
    "library",
    "language",
    "database",
)


def password_obfuscate(password: str) -> bytes:
    """LOGIN7 password bytes: UCS-2, each byte's nibbles swapped then XOR 0xA5 (2.2.6.4)."""
    return bytes((((b << 4) & 0xF0) | (b >> 4)) ^ 0xA5 for b in password.encode("utf-16-le"))


def password_reveal(data: bytes) -> str:
    """Undo password_obfuscate: XOR 0xA5, then swap the nibbles back."""
    plain = bytes((((x ^ 0xA5) << 4) & 0xF0) | ((x ^ 0xA5) >> 4) for x in data)
    return plain.decode("utf-16-le", errors="replace")


def parse_login7(data: bytes) -> Login7:
    if len(data) < 94:
        raise WireError(f"LOGIN7: {len(data)} bytes, shorter than its 94-byte fixed part")
    length, version, packet_size, _prog, pid, _conn, _f1, _f2, _tf, _f3, _tz, _lcid = _LOGIN7_FIXED.unpack_from(data)
    if length > len(data):
        raise WireError(f"LOGIN7: declares {length} bytes but the message has {len(data)}")
    values: dict[str, str] = {}
    for i, name in enumerate(_LOGIN7_FIELDS):
        off, cch = struct.unpack_from("<HH", data, 36 + 4 * i)
        if name == "extension":
            continue
        raw = data[off : off + 2 * cch]
        if len(raw) != 2 * cch:
            raise WireError(f"LOGIN7: {name} points past the message")
        values[name] = password_reveal(raw) if name == "password" else raw.decode("utf-16-le", errors="replace")
    return Login7(tds_version=version, packet_size=packet_size, client_pid=pid, **values)


def build_login7(
    username: str,
    password: str,
    database: str = "",
    tds_version: int = TDS74,
    packet_size: int = 4096,
    hostname: str = "client",
    appname: str = "dbshift",
    servername: str = "",
    library: str = "dbshift",
) -> bytes:
    """A LOGIN7 message as a client sends it (used by the tests to drive the listener byte by byte)."""
    fields = {
        "hostname": hostname.encode("utf-16-le"),
        "username": username.encode("utf-16-le"),
        "password": password_obfuscate(password),
        "appname": appname.encode("utf-16-le"),
        "servername": servername.encode("utf-16-le"),
        "extension": b"",
        "library": library.encode("utf-16-le"),
        "language": b"",
        "database": database.encode("utf-16-le"),
    }
    offs, body, pos = [], [], 94
    for name in _LOGIN7_FIELDS:
        raw = fields[name]
        offs.append(struct.pack("<HH", pos, len(raw) // 2))
        body.append(raw)
        pos += len(raw)
    tail = b"\x00" * 6 + struct.pack("<HHHHHHI", pos, 0, pos, 0, pos, 0, 0)  # ClientID, SSPI, AtchDBFile, ChangePw
    total = 36 + len(b"".join(offs)) + len(tail) + sum(len(b) for b in body)
    fixed = _LOGIN7_FIXED.pack(total, tds_version, packet_size, 7, 1, 0, 0xE0, 0x03, 0, 0, 0, 0x0409)
    return fixed + b"".join(offs) + tail + b"".join(body)


# ===================================================================================== SQL_BATCH
def parse_sql_batch(data: bytes, tds_version: int) -> str:
    """The batch text after ALL_HEADERS (2.2.5.3, present from TDS 7.2)."""
    start = 0
    if tds_version >= TDS72 and len(data) >= 4:
        total = _U32.unpack_from(data)[0]
        if 4 <= total <= len(data):
            start = total
    return data[start:].decode("utf-16-le", errors="replace")


def build_sql_batch(sql: str) -> bytes:
    """SQL_BATCH payload with the transaction descriptor header a TDS 7.2+ client sends."""
    txn = struct.pack("<IHQI", 18, 2, 0, 1)
    return struct.pack("<I", 4 + len(txn)) + txn + sql.encode("utf-16-le")


# ===================================================================================== tokens
def b_varchar(s: str) -> bytes:
    raw = s.encode("utf-16-le")
    return _U8.pack(len(raw) // 2) + raw


def us_varchar(s: str) -> bytes:
    raw = s.encode("utf-16-le")
    return _U16.pack(len(raw) // 2) + raw


def loginack(
    tds_version: int = TDS74, prog_name: str = PROG_NAME, version: tuple[int, int, int] = SERVER_VERSION
) -> bytes:
    major, minor, build = version
    body = b"\x01" + struct.pack(">I", tds_version) + b_varchar(prog_name) + struct.pack(">BBH", major, minor, build)
    return bytes([TOK_LOGINACK]) + _U16.pack(len(body)) + body


def envchange(kind: int, new: str | bytes, old: str | bytes = "") -> bytes:
    """ENVCHANGE: B_VARCHAR values for text types, B_VARBYTE for the collation (2.2.7.9)."""
    if isinstance(new, bytes):
        old_b = old if isinstance(old, bytes) else b""
        body = bytes([kind]) + _U8.pack(len(new)) + new + _U8.pack(len(old_b)) + old_b
    else:
        body = bytes([kind]) + b_varchar(new) + b_varchar(str(old))
    return bytes([TOK_ENVCHANGE]) + _U16.pack(len(body)) + body


def message(
    number: int,
    text: str,
    severity: int,
    state: int = 1,
    server: str = "",
    procedure: str = "",
    line: int = 1,
    token: int = TOK_ERROR,
) -> bytes:
    """ERROR (class > 10) or INFO token (2.2.7.10 / 2.2.7.13); LineNumber is 4 bytes from TDS 7.2."""
    body = (
        struct.pack("<iBB", number, state & 0xFF, severity & 0xFF)
        + us_varchar(text)
        + b_varchar(server)
        + b_varchar(procedure)
        + struct.pack("<i", line)
    )
    return bytes([token]) + _U16.pack(len(body)) + body


_DONE = struct.Struct("<BHHQ")


def done(status: int = DONE_FINAL, count: int = 0, curcmd: int = 0xC1, token: int = TOK_DONE) -> bytes:
    """DONE/DONEPROC/DONEINPROC: status, current command (0xC1 = SELECT), row count (8 bytes from 7.2)."""
    return _DONE.pack(token, status, curcmd, count)


# ===================================================================================== types
@dataclass(frozen=True)
class WireType:
    """The wire form of one result column: kind + size (bytes for numbers, characters for text; MAX)."""

    kind: str  # int | bit | float | decimal | varchar | nvarchar | varbinary | datetime2 | date | datetime
    size: int = 0
    precision: int = 0
    scale: int = 0

    @property
    def tsql(self) -> str:
        """The T-SQL type name, as sys.dm_exec_describe_first_result_set reports it."""
        k = self.kind
        if k == "int":
            return {1: "tinyint", 2: "smallint", 4: "int", 8: "bigint"}[self.size]
        if k == "float":
            return "float" if self.size == 8 else "real"
        if k == "decimal":
            return f"decimal({self.precision},{self.scale})"
        if k in ("varchar", "nvarchar", "varbinary"):
            return f"{k}({'max' if self.size == MAX else self.size})"
        if k == "datetime2":
            return f"datetime2({self.scale})"
        return k

    def type_info(self) -> bytes:
        """TYPE_INFO of COLMETADATA (2.2.5.6)."""
        k = self.kind
        if k == "int":
            return bytes([INTNTYPE, self.size])
        if k == "bit":
            return bytes([BITNTYPE, 1])
        if k == "float":
            return bytes([FLTNTYPE, self.size])
        if k == "decimal":
            return bytes([DECIMALNTYPE, decimal_length(self.precision), self.precision, self.scale])
        if k == "varchar":
            return bytes([BIGVARCHRTYPE]) + _U16.pack(0xFFFF if self.size == MAX else self.size) + COLLATION
        if k == "nvarchar":
            return bytes([NVARCHARTYPE]) + _U16.pack(0xFFFF if self.size == MAX else 2 * self.size) + COLLATION
        if k == "varbinary":
            return bytes([BIGVARBINTYPE]) + _U16.pack(0xFFFF if self.size == MAX else self.size)
        if k == "datetime2":
            return bytes([DATETIME2NTYPE, self.scale])
        if k == "date":
            return bytes([DATENTYPE])
        if k == "datetime":
            return bytes([DATETIMNTYPE, 8])
        raise ValueError(f"no wire form for {self}")


INT = WireType("int", 4)
BIGINT = WireType("int", 8)
FLOAT = WireType("float", 8)
BIT = WireType("bit", 1)


def decimal_length(precision: int) -> int:
    return 5 if precision <= 9 else 9 if precision <= 19 else 13 if precision <= 28 else 17


_TYPE_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_ ]*?)\s*(?:\(\s*([^)]*)\))?\s*$")


def parse_tsql_type(decl: str | None) -> WireType | None:
    """The wire type of a declared column type (T-SQL names, and the SQLite names older emulator tables
    carry); None when the declaration says nothing usable (then the values decide)."""
    if not decl:
        return None
    m = _TYPE_RE.match(decl.strip('"'))
    if not m:
        return None
    base = m.group(1).upper().replace("UNSIGNED ", "")
    args = [a.strip().upper() for a in m.group(2).split(",")] if m.group(2) else []

    def length(default: int) -> int:
        if not args:
            return default
        if args[0] == "MAX" or args[0] == "-1":
            return MAX
        try:
            return int(args[0])
        except ValueError:
            return default

    if base in ("INT", "INTEGER", "MEDIUMINT"):
        return INT
    if base in ("BIGINT", "INT8"):
        return BIGINT
    if base == "SMALLINT":
        return WireType("int", 2)
    if base in ("TINYINT", "UTINYINT"):
        return WireType("int", 1)
    if base in ("BIT", "BOOLEAN", "BOOL"):
        return BIT
    if base in ("FLOAT", "DOUBLE", "DOUBLE PRECISION"):
        if args and args[0].isdigit() and int(args[0]) <= 24:
            return WireType("float", 4)
        return FLOAT
    if base == "REAL":
        if len(args) == 2:  # sqlglot's SQLite form of DECIMAL(p, s)
            return _decimal(args)
        return WireType("float", 4)
    if base in ("DECIMAL", "NUMERIC", "DEC"):
        return _decimal(args)
    if base in ("MONEY",):
        return WireType("decimal", 0, 19, 4)
    if base in ("SMALLMONEY",):
        return WireType("decimal", 0, 10, 4)
    if base in ("VARCHAR", "CHAR", "CHARACTER", "VARYING CHARACTER"):
        return WireType("varchar", length(1))
    if base in ("TEXT", "CLOB"):  # T-SQL TEXT; SQLite TEXT(n) is sqlglot's form of (N)VARCHAR(n)
        return WireType("nvarchar", length(MAX))
    if base in ("NVARCHAR", "NCHAR", "NATIONAL CHARACTER", "NTEXT"):
        return WireType("nvarchar", length(1 if args or base != "NTEXT" else MAX))
    if base == "SYSNAME":
        return WireType("nvarchar", 128)
    if base in ("UNIQUEIDENTIFIER", "UUID"):
        return WireType("nvarchar", 36)
    if base == "XML":  # unbounded in SQL Server (2 GB): as nvarchar(max), never cut at 4,000 characters
        return WireType("nvarchar", MAX)
    if base in ("DATETIMEOFFSET", "TIMESTAMPTZ", "TIME"):
        return WireType("nvarchar", NVARCHAR_DEFAULT)
    if base in ("VARBINARY", "BINARY", "BLOB", "IMAGE"):
        return WireType("varbinary", length(MAX))
    if base in ("DATETIME2", "TIMESTAMP"):
        scale = int(args[0]) if args and args[0].isdigit() else 7
        return WireType("datetime2", 0, 0, min(scale, 7))
    if base in ("DATETIME", "SMALLDATETIME"):
        return WireType("datetime", 8)
    if base == "DATE":
        return WireType("date")
    return None


def _decimal(args: list[str]) -> WireType:
    try:
        p = int(args[0]) if args else 18
        s = int(args[1]) if len(args) > 1 else 0
    except ValueError:
        p, s = 18, 0
    p = min(max(p, 1), 38)
    return WireType("decimal", 0, p, min(max(s, 0), p))


def infer_type(values: Iterable[Any]) -> WireType:
    """The wire type for a column without a declared type, from its values (SQL Server types NULL as int)."""
    kinds: set[type] = set()
    longest = 0
    big = False
    for v in values:
        if v is None:
            continue
        t = type(v)
        kinds.add(t)
        if t is int and not -(2**31) <= v < 2**31:
            big = True
        elif t is str and len(v) > longest:
            longest = len(v)
    if not kinds:
        return INT
    if kinds <= {bool}:
        return BIT
    if kinds <= {int, bool}:
        return BIGINT if big else INT
    if kinds <= {int, float, bool}:
        return FLOAT
    if kinds <= {Decimal, int}:
        return WireType("decimal", 0, 38, 10)
    if kinds <= {bytes}:
        return WireType("varbinary", MAX)
    if kinds <= {dt.datetime}:
        return WireType("datetime2", 0, 0, 7)
    if kinds <= {dt.date}:
        return WireType("date")
    return WireType("nvarchar", NVARCHAR_DEFAULT if longest <= NVARCHAR_DEFAULT else MAX)


@dataclass(frozen=True)
class Column:
    name: str
    type: WireType
    nullable: bool = True


def colmetadata(columns: Sequence[Column]) -> bytes:
    """COLMETADATA (2.2.7.4): count, then per column UserType (4 bytes), Flags (2), TYPE_INFO, ColName."""
    parts = [bytes([TOK_COLMETADATA]), _U16.pack(len(columns))]
    for c in columns:
        parts.append(struct.pack("<IH", 0, COL_NULLABLE if c.nullable else 0))
        parts.append(c.type.type_info())
        parts.append(b_varchar(c.name))
    return b"".join(parts)


# ===================================================================================== values
class ConversionError(ValueError):
    """A value that cannot be sent as its column's type (SQL Server raises 245/241/8114 for these)."""

    def __init__(self, number: int, text: str) -> None:
        super().__init__(text)
        self.number = number


def to_datetime(v: Any) -> dt.datetime:
    if isinstance(v, dt.datetime):
        return v
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    if isinstance(v, str):
        try:
            return dt.datetime.fromisoformat(v.strip())
        except ValueError:
            pass
    raise ConversionError(241, "Conversion failed when converting date and/or time from character string.")


def datetime2_bytes(v: Any, scale: int) -> bytes:
    """DATETIME2 value bytes without the length: time in 10^-scale s units (3-5 bytes), then the date (3)."""
    d = to_datetime(v)
    micros = ((d.hour * 60 + d.minute) * 60 + d.second) * 1_000_000 + d.microsecond
    units = micros * 10 ** (scale - 6) if scale >= 6 else (micros * 10**scale + 500_000) // 1_000_000
    days = d.toordinal() - _DAY1
    if units >= 86400 * 10**scale:  # rounded up to midnight
        units -= 86400 * 10**scale
        days += 1
    tlen = 3 if scale <= 2 else 4 if scale <= 4 else 5
    return units.to_bytes(tlen, "little") + days.to_bytes(3, "little")


def date_bytes(v: Any) -> bytes:
    d = to_datetime(v)
    return (d.toordinal() - _DAY1).to_bytes(3, "little")


def datetime_bytes(v: Any) -> bytes:
    """DATETIME: days since 1900-01-01 (signed), then 1/300 s ticks since midnight."""
    d = to_datetime(v)
    micros = ((d.hour * 60 + d.minute) * 60 + d.second) * 1_000_000 + d.microsecond
    ticks = (micros * 300 + 500_000) // 1_000_000
    days = d.toordinal() - _DAY1900
    if ticks >= 300 * 86400:
        ticks -= 300 * 86400
        days += 1
    return struct.pack("<iI", days, ticks)


def decimal_bytes(v: Any, precision: int, scale: int) -> bytes:
    """DECIMALN value with its length byte: sign (1 = positive), then the scaled integer little-endian."""
    try:
        d = v if isinstance(v, Decimal) else Decimal(repr(v) if isinstance(v, float) else str(v))
        n = int(d.scaleb(scale).to_integral_value())
    except (InvalidOperation, ValueError):
        raise ConversionError(8114, f"Error converting data type {type(v).__name__} to numeric.") from None
    if abs(n) >= 10**precision:
        raise ConversionError(8115, "Arithmetic overflow error converting expression to data type numeric.")
    ln = decimal_length(precision)
    return bytes([ln, 1 if n >= 0 else 0]) + abs(n).to_bytes(ln - 1, "little")


def _int_value(v: Any) -> int:
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    try:
        return int(str(v).strip())
    except ValueError:
        raise ConversionError(245, f"Conversion failed when converting the value '{v}' to data type int.") from None


def _float_value(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ConversionError(8114, "Error converting data type nvarchar to float.") from None


def _text_value(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return "0x" + v.hex().upper()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _plp(raw: bytes) -> bytes:
    """PLP body (2.2.5.2.3): total length, one chunk, terminator."""
    if not raw:
        return _U64.pack(0) + _U32.pack(0)
    return _U64.pack(len(raw)) + _U32.pack(len(raw)) + raw + _U32.pack(0)


def value_encoder(t: WireType) -> Callable[[Any], bytes]:
    """Encoder of one value of type t (length prefix included; None -> the type's NULL)."""
    k = t.kind
    if k == "int":
        fmt = struct.Struct("<B" + {1: "B", 2: "h", 4: "i", 8: "q"}[t.size])
        size = t.size
        lo, hi = (0, 255) if size == 1 else (-(2 ** (8 * size - 1)), 2 ** (8 * size - 1) - 1)

        def enc_int(v: Any) -> bytes:
            if v is None:
                return b"\x00"
            n = _int_value(v)
            if not lo <= n <= hi:
                raise ConversionError(8115, f"Arithmetic overflow error converting expression to data type {t.tsql}.")
            return fmt.pack(size, n)

        return enc_int
    if k == "bit":
        return lambda v: b"\x00" if v is None else (b"\x01\x01" if _int_value(v) else b"\x01\x00")
    if k == "float":
        ffmt = struct.Struct("<B" + ("d" if t.size == 8 else "f"))
        return lambda v: b"\x00" if v is None else ffmt.pack(t.size, _float_value(v))
    if k == "decimal":
        return lambda v: b"\x00" if v is None else decimal_bytes(v, t.precision, t.scale)
    if k in ("varchar", "nvarchar"):
        codec = CODEPAGE if k == "varchar" else "utf-16-le"
        if t.size == MAX:
            return lambda v: _U64.pack(PLP_NULL) if v is None else _plp(_text_value(v).encode(codec, errors="replace"))

        limit = t.size * (2 if k == "nvarchar" else 1)

        def enc_text(v: Any) -> bytes:
            if v is None:
                return b"\xff\xff"
            raw = _text_value(v).encode(codec, errors="replace")
            if len(raw) > limit:
                raw = raw[:limit]  # a declared length is a limit on the wire as on the column
            return _U16.pack(len(raw)) + raw

        return enc_text
    if k == "varbinary":

        def raw_of(v: Any) -> bytes:
            if isinstance(v, bytes):
                return v
            s = _text_value(v)
            return bytes.fromhex(s[2:]) if s.lower().startswith("0x") else s.encode()

        if t.size == MAX:
            return lambda v: _U64.pack(PLP_NULL) if v is None else _plp(raw_of(v))
        return lambda v: b"\xff\xff" if v is None else _U16.pack(len(raw_of(v))) + raw_of(v)
    if k == "datetime2":
        ln = bytes([(3 if t.scale <= 2 else 4 if t.scale <= 4 else 5) + 3])
        return lambda v: b"\x00" if v is None else ln + datetime2_bytes(v, t.scale)
    if k == "date":
        return lambda v: b"\x00" if v is None else b"\x03" + date_bytes(v)
    if k == "datetime":
        return lambda v: b"\x00" if v is None else b"\x08" + datetime_bytes(v)
    raise ValueError(f"no encoder for {t}")


# ===================================================================================== rows
RowEncoder = Callable[[Sequence[Sequence[Any]]], bytes]
_CACHE_LIMIT = 50_000  # distinct values remembered per text/temporal column (timestamps repeat per cell)


def _cached(enc: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    cache: dict[Any, bytes] = {}

    def get(v: Any) -> bytes:
        b = cache.get(v)
        if b is None:
            b = enc(v)
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[v] = b
        return b

    return get


def row_encoder(types: Sequence[WireType]) -> RowEncoder:
    """A function turning a batch of row tuples into ROW tokens (2.2.7.19), generated for these types.

    Consecutive int/float columns of a row without NULLs go through one precompiled struct; text and
    temporal values through per-column caches; anything unusual through value_encoder (which also
    converts or rejects values of the wrong Python type, as SQLite's dynamic typing allows them).
    """
    n = len(types)
    ns: dict[str, Any] = {"ROW": bytes([TOK_ROW])}
    names = [f"a{i}" for i in range(n)]
    slow_parts, fast_parts = [], []
    group: list[int] = []

    def flush_group() -> None:
        if not group:
            return
        fmt = "<" + "".join(
            "B"
            + (
                {1: "B", 2: "h", 4: "i", 8: "q"}[types[i].size]
                if types[i].kind == "int"
                else ("d" if types[i].size == 8 else "f")
            )
            for i in group
        )
        key = f"G{len(ns)}"
        ns[key] = struct.Struct(fmt).pack
        args = ", ".join(f"{types[i].size}, {names[i]}" for i in group)
        fast_parts.append(f"{key}({args})")
        group.clear()

    for i, t in enumerate(types):
        enc = value_encoder(t)
        ns[f"E{i}"] = enc
        if t.kind in ("int", "float"):
            group.append(i)
            slow_parts.append(f"E{i}({names[i]})")
            continue
        flush_group()
        if t.kind in ("varchar", "nvarchar", "datetime2", "date", "datetime") and t.size != MAX:
            ns[f"C{i}"] = _cached(enc)
            part = (
                f"C{i}({names[i]})"
                if t.kind not in ("varchar", "nvarchar")
                else (f"(NULL2 if {names[i]} is None else C{i}({names[i]}))")
            )
        else:
            part = f"E{i}({names[i]})"
        slow_parts.append(part)
        fast_parts.append(part)
    flush_group()
    ns["NULL2"] = b"\xff\xff"
    nullable_fixed = [names[i] for i, t in enumerate(types) if t.kind in ("int", "float")]
    unpack = ", ".join(names) + ("," if n == 1 else "")
    check = " or ".join(f"{a} is None" for a in nullable_fixed) or "False"
    src = (
        "def encode(rows):\n"
        "    out = []\n"
        "    add = out.append\n"
        "    for r in rows:\n"
        f"        {unpack} = r\n"
        f"        if {check}:\n"
        f"            add(b''.join((ROW, {', '.join(slow_parts)})))\n"
        "        else:\n"
        f"            add(b''.join((ROW, {', '.join(fast_parts)})))\n"
        "    return b''.join(out)\n"
    )
    exec(compile(src, "<tds row encoder>", "exec"), ns)  # generated from the column types only
    fast: RowEncoder = ns["encode"]
    encoders = [value_encoder(t) for t in types]

    def encode(rows: Sequence[Sequence[Any]]) -> bytes:
        try:
            return fast(rows)
        except (struct.error, TypeError, AttributeError, OverflowError):
            # a value of an unexpected Python type: convert it (or raise ConversionError) value by value
            return b"".join(ROW_BYTE + b"".join(e(v) for e, v in zip(encoders, r, strict=True)) for r in rows)

    return encode


ROW_BYTE = bytes([TOK_ROW])
