"""TDS wire format of the SQL Server emulator's listener, against the byte layouts of [MS-TDS]."""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal

import pytest

from dbshift.estate.sqlserver import tds_wire as w

# MS-TDS 4.2 "Login Request": a TDS 7.2 LOGIN7 from host skostov1, user sa, app OSQL-32, library ODBC.
SPEC_LOGIN7 = bytes.fromhex(
    "10 01 00 90 00 00 01 00 88 00 00 00 02 00 09 72 00 10 00 00 00 00 00 07 00 01 00 00 00 00 00 00 "
    "E0 03 00 00 00 00 00 00 09 04 00 00 5E 00 08 00 6E 00 02 00 72 00 00 00 72 00 07 00 80 00 00 00 "
    "80 00 00 00 80 00 04 00 88 00 00 00 88 00 00 00 00 50 8B E2 B7 8F 88 00 00 00 88 00 00 00 88 00 "
    "00 00 00 00 00 00 73 00 6B 00 6F 00 73 00 74 00 6F 00 76 00 31 00 73 00 61 00 4F 00 53 00 51 00 "
    "4C 00 2D 00 33 00 32 00 4F 00 44 00 42 00 43 00"
)


def test_the_spec_login7_example_decodes() -> None:
    ptype, status, length, spid, pid, _win = w.HEADER.unpack(SPEC_LOGIN7[:8])
    assert (ptype, status, length, spid, pid) == (w.PKT_LOGIN7, w.STATUS_EOM, 0x90, 0, 1)
    login = w.parse_login7(SPEC_LOGIN7[8:])
    assert login.tds_version == w.TDS72
    assert login.packet_size == 4096
    assert (login.hostname, login.username, login.password) == ("skostov1", "sa", "")
    assert (login.appname, login.library, login.database) == ("OSQL-32", "ODBC", "")


def test_password_obfuscation_swaps_nibbles_then_xors_a5() -> None:
    # 'a' is 0x61 0x00 in UCS-2: swap -> 0x16 ^ 0xA5 = 0xB3; 0x00 -> 0x00 ^ 0xA5 = 0xA5
    assert w.password_obfuscate("a") == bytes([0xB3, 0xA5])
    assert w.password_reveal(w.password_obfuscate("Pässw0rd!€")) == "Pässw0rd!€"
    login = w.parse_login7(w.build_login7("migration_reader", "S3cret!9a", "NetPerf01", packet_size=8192))
    assert (login.username, login.password, login.database, login.packet_size) == (
        "migration_reader",
        "S3cret!9a",
        "NetPerf01",
        8192,
    )
    assert "S3cret" not in repr(login)


def test_prelogin_round_trip_and_the_answer_refuses_encryption() -> None:
    msg = w.build_prelogin([(w.PL_VERSION, b"\x0f\x00\x10\xe2\x00\x00"), (w.PL_ENCRYPTION, b"\x00")])
    # two option headers of 5 bytes, terminator, then the data: VERSION at offset 11, ENCRYPTION at 17
    assert msg[:11] == bytes.fromhex("00 000B 0006 01 0011 0001 FF")
    assert w.parse_prelogin(msg) == {w.PL_VERSION: b"\x0f\x00\x10\xe2\x00\x00", w.PL_ENCRYPTION: b"\x00"}
    answer = w.parse_prelogin(w.prelogin_response())
    assert answer[w.PL_ENCRYPTION] == bytes([w.ENCRYPT_NOT_SUP])
    assert answer[w.PL_VERSION][:2] == bytes([15, 0])
    with pytest.raises(w.WireError):
        w.parse_prelogin(b"\x00\x00\x05")


def test_packets_split_at_the_packet_size_and_only_the_last_has_eom() -> None:
    data = w.packetize(w.PKT_REPLY, b"x" * 5000, 4096, spid=53)
    first = w.HEADER.unpack(data[:8])
    assert first == (w.PKT_REPLY, 0, 4096, 53, 1, 0)
    second = w.HEADER.unpack(data[4096:4104])
    assert second == (w.PKT_REPLY, w.STATUS_EOM, 5000 - 4088 + 8, 53, 2, 0)
    assert len(data) == 5000 + 16


def test_sql_batch_skips_all_headers() -> None:
    payload = w.build_sql_batch("SELECT 1")
    assert struct.unpack_from("<I", payload)[0] == 22  # total length: itself + one 18-byte header
    assert w.parse_sql_batch(payload, w.TDS74) == "SELECT 1"


def test_loginack_layout() -> None:
    tok = w.loginack(w.TDS74, "X", (15, 0, 4322))
    # token, length, interface SQL_TSQL, TDS 7.4 big-endian, B_VARCHAR "X", version 15.0 build 4322
    assert tok == bytes.fromhex("AD 0C00 01 74000004 01 5800 0F 00 10E2")


def test_envchange_database_and_collation() -> None:
    assert w.envchange(w.ENV_DATABASE, "ab", "m") == bytes.fromhex("E3 0900 01 02 6100 6200 01 6D00")
    assert w.envchange(w.ENV_COLLATION, w.COLLATION, b"") == bytes.fromhex("E3 0800 07 05 0904D00034 00")


def test_error_token_layout() -> None:
    tok = w.message(18456, "Login failed for user 'u'.", 14, 1, "S", "", 1)
    text = "Login failed for user 'u'.".encode("utf-16-le")
    body = (
        struct.pack("<iBB", 18456, 1, 14) + struct.pack("<H", 26) + text + b"\x01S\x00" + b"\x00" + b"\x01\x00\x00\x00"
    )
    assert tok == bytes([0xAA]) + struct.pack("<H", len(body)) + body


def test_done_carries_an_eight_byte_count() -> None:
    assert w.done(w.DONE_MORE | w.DONE_COUNT, 300) == bytes.fromhex("FD 1100 C100 2C01000000000000")


def test_colmetadata_type_info() -> None:
    cols = [
        w.Column("i", w.INT, False),
        w.Column("v", w.WireType("varchar", 16)),
        w.Column("n", w.WireType("nvarchar", w.MAX)),
        w.Column("d", w.WireType("decimal", 0, 12, 3)),
        w.Column("t", w.WireType("datetime2", 0, 0, 0)),
        w.Column("x", w.WireType("date")),
    ]
    meta = w.colmetadata(cols)
    expected = (
        bytes.fromhex("81 0600")
        + bytes.fromhex("00000000 0000 26 04 01") + b"i\x00"
        + bytes.fromhex("00000000 0100 A7 1000 0904D00034 01") + b"v\x00"
        + bytes.fromhex("00000000 0100 E7 FFFF 0904D00034 01") + b"n\x00"
        + bytes.fromhex("00000000 0100 6A 09 0C 03 01") + b"d\x00"
        + bytes.fromhex("00000000 0100 2A 00 01") + b"t\x00"
        + bytes.fromhex("00000000 0100 28 01") + b"x\x00"
    )  # fmt: skip
    assert meta == expected


def test_temporal_values() -> None:
    # DATE: days since 0001-01-01 in 3 bytes; 2026-11-01 is day 739920
    days = dt.date(2026, 11, 1).toordinal() - 1
    assert w.date_bytes("2026-11-01") == days.to_bytes(3, "little")
    # DATETIME2(0): seconds since midnight (3 bytes), then the date; (3): milliseconds in 4 bytes
    assert w.datetime2_bytes("2026-11-01 00:15:00", 0) == (900).to_bytes(3, "little") + days.to_bytes(3, "little")
    assert w.datetime2_bytes("2026-11-01T00:00:01.5", 3) == (1500).to_bytes(4, "little") + days.to_bytes(3, "little")
    # DATETIME: days since 1900-01-01, then 1/300 s ticks: 1900-01-02 00:00:01 -> (1, 300)
    assert w.datetime_bytes("1900-01-02 00:00:01") == struct.pack("<iI", 1, 300)
    with pytest.raises(w.ConversionError):
        w.date_bytes("not a date")


def test_decimal_value_is_sign_then_scaled_integer() -> None:
    assert w.decimal_bytes(Decimal("-12.345"), 12, 3) == bytes([9, 0]) + (12345).to_bytes(8, "little")
    assert w.decimal_bytes(1.5, 5, 2) == bytes([5, 1]) + (150).to_bytes(4, "little")
    with pytest.raises(w.ConversionError):
        w.decimal_bytes(Decimal("1000"), 3, 0)


def test_row_encoder_matches_the_per_value_encoders_with_and_without_nulls() -> None:
    types = [w.INT, w.WireType("datetime2", 0, 0, 0), w.WireType("varchar", 16), w.FLOAT, w.FLOAT, w.BIGINT]
    rows = [
        (1, "2026-11-01 00:15:00", "S0001", 1.5, 2.25, 2**40),
        (2, "2026-11-01 00:30:00", None, None, 3.0, None),
        (3, "2026-11-01 00:30:00", "", 0.0, None, -1),
    ]
    got = w.row_encoder(types)(rows)
    encoders = [w.value_encoder(t) for t in types]
    expected = b"".join(b"\xd1" + b"".join(e(v) for e, v in zip(encoders, r, strict=True)) for r in rows)
    assert got == expected
    # NULLs: INTN/FLTN/DATETIME2N send a zero length, BIGVARCHR the 0xFFFF length
    assert encoders[0](None) == b"\x00"
    assert encoders[2](None) == b"\xff\xff"
    assert encoders[2]("é") == b"\x01\x00\xe9"  # cp1252, the collation's code page
    assert encoders[0](7) == b"\x04\x07\x00\x00\x00"


def test_row_encoder_converts_or_rejects_values_of_another_python_type() -> None:
    enc = w.row_encoder([w.INT, w.WireType("nvarchar", 10)])
    assert enc([("5", 12)]) == b"\xd1\x04\x05\x00\x00\x00" + b"\x04\x00" + "12".encode("utf-16-le")
    with pytest.raises(w.ConversionError) as err:
        enc([("five", "x")])
    assert err.value.number == 245


@pytest.mark.parametrize(
    ("decl", "tsql"),
    [
        ("INTEGER", "int"),
        ("BIGINT", "bigint"),
        ("DATETIME2(0)", "datetime2(0)"),
        ("TIMESTAMP(3)", "datetime2(3)"),
        ("VARCHAR(16)", "varchar(16)"),
        ("NVARCHAR(MAX)", "nvarchar(max)"),
        ("NUMERIC(18, 4)", "decimal(18,4)"),
        ("REAL(12, 2)", "decimal(12,2)"),
        ("FLOAT", "float"),
        ("BIT", "bit"),
        ("DATE", "date"),
        ("DATETIME", "datetime"),
    ],
)
def test_declared_types_map_to_wire_types(decl: str, tsql: str) -> None:
    t = w.parse_tsql_type(decl)
    assert t is not None and t.tsql == tsql


def test_untyped_values_pick_a_type() -> None:
    assert w.infer_type([None, 1, 2]) == w.INT
    assert w.infer_type([2**40]) == w.BIGINT
    assert w.infer_type([1, 2.5]) == w.FLOAT
    assert w.infer_type(["a" * 5000]).size == w.MAX
    assert w.infer_type([None]) == w.INT  # SQL Server types a bare NULL as int
