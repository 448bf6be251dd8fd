"""The PowerShell SQL script: building and reading it back, and what it prints."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import re
import uuid

import pytest

from dbshift.errors import DbshiftError
from dbshift.tsql import psscript
from dbshift.tsql.psscript import (
    COMMAND_LINE_BUDGET,
    SCRIPT_MARKER,
    SqlScriptRequest,
    UnsupportedCommandError,
    build_invocation,
    build_sql_script,
    clean_stderr,
    encode_command,
    parse_command_line,
    parse_outcome,
    parse_sql_script,
    render_outcome,
)
from dbshift.tsql.result import ResultSet, SqlError, SqlErrorDetail, SqlResult

NASTY_SQL = "SELECT N'it''s \"quoted\" `$(whoami)` ünïcødé 日本 \U0001f600';\r\nPRINT 'done'\n-- '@ $x"


def test_script_starts_with_marker_and_round_trips_every_field() -> None:
    script = build_sql_script(
        "SQL01\\PROD", NASTY_SQL, database="Sales", timeout=0, sql_username="admin", sql_password="p'a\"ss$word"
    )
    assert script.splitlines()[0] == SCRIPT_MARKER
    req = parse_sql_script(script)
    assert req == SqlScriptRequest("SQL01\\PROD", "Sales", NASTY_SQL, 0, "admin", "p'a\"ss$word")


def test_inputs_only_travel_inside_the_base64_literal() -> None:
    script = build_sql_script("srv", NASTY_SQL, sql_username="sa", sql_password="Secr3t-Pa55")
    # Nothing the caller passed appears in the script text itself: no quoting can break it.
    for value in ("Secr3t-Pa55", "whoami", "ünïcødé", "it''s"):
        assert value not in script
    assert script.isascii()
    literals = re.findall(r"^\$dbshiftRequest = '([^']*)'$", script, re.MULTILINE)
    assert len(literals) == 1
    assert json.loads(base64.b64decode(literals[0]))["sql"] == NASTY_SQL


def test_integrated_security_when_no_sql_login() -> None:
    req = parse_sql_script(build_sql_script("srv", "SELECT 1"))
    assert req.sql_username is None and req.sql_password is None
    assert req.timeout is None and req.database is None


def test_repr_of_request_hides_the_password() -> None:
    req = parse_sql_script(build_sql_script("srv", "SELECT 1", sql_username="u", sql_password="hunter2-xyz"))
    assert "hunter2-xyz" not in repr(req)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"server_instance": ""}, "server_instance"),
        ({"timeout": -1}, "timeout"),
        ({"sql_username": "sa"}, "sql_password"),
    ],
)
def test_bad_inputs_are_refused(kwargs: dict, fragment: str) -> None:
    args = {"server_instance": "srv", "sql": "SELECT 1"} | kwargs
    with pytest.raises(DbshiftError, match=fragment):
        build_sql_script(**args)


def test_unknown_or_edited_scripts_are_refused() -> None:
    with pytest.raises(UnsupportedCommandError, match="first line"):
        parse_sql_script("Get-ChildItem C:\\")
    script = build_sql_script("srv", "SELECT 1")
    with pytest.raises(UnsupportedCommandError, match="differs from the template"):
        parse_sql_script(script.replace("$ProgressPreference = 'SilentlyContinue'", "Remove-Item C:\\ -Recurse"))
    payload = base64.b64encode(json.dumps({"sql": "x"}).encode()).decode()
    forged = re.sub(r"\$dbshiftRequest = '[^']*'", f"$dbshiftRequest = '{payload}'", script)
    with pytest.raises(UnsupportedCommandError, match="keys"):
        parse_sql_script(forged)


def test_short_script_goes_inline_as_utf16_base64() -> None:
    inv = build_invocation("Write-Output 'hi'")
    assert inv.stdin is None
    assert inv.command == "powershell.exe"
    assert inv.arguments[:3] == ("-NoProfile", "-NonInteractive", "-EncodedCommand")
    assert base64.b64decode(inv.arguments[3]).decode("utf-16-le") == "Write-Output 'hi'"
    assert parse_command_line(inv.command_line) == "Write-Output 'hi'"


def test_long_script_goes_over_stdin_and_the_command_line_stays_short() -> None:
    script = build_sql_script("srv", "SELECT '" + "x" * 20000 + "'")
    inv = build_invocation(script)
    assert inv.stdin is not None
    assert len(inv.command_line) <= COMMAND_LINE_BUDGET < 8191
    assert parse_command_line(inv.command_line, inv.stdin) == script  # intact, not truncated


def test_secret_bearing_script_can_be_forced_to_stdin() -> None:
    inv = build_invocation("tiny", force_stdin=True)
    assert inv.stdin is not None
    assert base64.b64decode(inv.arguments[3]).decode("utf-16-le").startswith(psscript.BOOTSTRAP_MARKER)
    assert "tiny" not in inv.command_line
    assert parse_command_line(inv.command_line, inv.stdin) == "tiny"


def test_the_cutover_between_inline_and_stdin_follows_the_budget() -> None:
    # Find the longest ASCII script that still fits inline; one more character must switch to stdin.
    overhead = len(build_invocation("").command_line)
    fits = (COMMAND_LINE_BUDGET - overhead) // 8 * 3  # 3 UTF-16 chars = 6 bytes = 8 base64 chars
    assert build_invocation("a" * fits).stdin is None
    assert build_invocation("a" * (fits + 3)).stdin is not None


@pytest.mark.parametrize(
    "command_line",
    ["ipconfig /all", "cmd.exe /c dir", "powershell.exe -NoProfile -Command Get-Process", ""],
)
def test_other_commands_are_refused_with_their_name(command_line: str) -> None:
    with pytest.raises(UnsupportedCommandError) as info:
        parse_command_line(command_line)
    if command_line:
        assert command_line.split()[0] in str(info.value)


def test_full_path_and_short_flag_are_understood() -> None:
    line = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -enc " + encode_command("$x = 1")
    assert parse_command_line(line) == "$x = 1"


# --- outcomes ---------------------------------------------------------------------------------


def test_success_outcome_round_trips() -> None:
    result = SqlResult(
        result_sets=[
            ResultSet(["id", "name", ""], [[1, 'a\u00e9\n\t"\\', None], [2, "b", True]]),
            ResultSet(["n"], []),
        ],
        messages=["Processed 10 pages.", "RESTORE DATABASE successfully processed 10 pages"],
    )
    code, out, err = render_outcome(result, None)
    assert code == 0 and err == b""
    assert out.isascii()  # survives any console code page
    assert out.startswith(b"<<<dbshift-result>>>\r\n") and out.endswith(b"<<<end-dbshift-result>>>\r\n")
    assert parse_outcome(code, out, err, "srv") == result


def test_sql_error_outcome_carries_every_error_and_the_partial_result() -> None:
    errors = [
        SqlErrorDetail(4305, "The log in this backup set begins at LSN 9, which is too recent.", 16, 1, 1),
        SqlErrorDetail(3013, "RESTORE LOG is terminating abnormally.", 16, 1, 1, procedure="p"),
    ]
    partial = SqlResult([ResultSet(["x"], [[1]])], ["before"])
    code, out, err = render_outcome(None, SqlError(errors, partial=partial))
    assert code == 1
    text = err.decode()
    assert "Msg 4305, Level 16, State 1, Line 1\r\nThe log in this backup set" in text
    assert "Msg 3013, Level 16, State 1, Procedure p, Line 1" in text
    with pytest.raises(SqlError) as info:
        parse_outcome(code, out, err, "EC2HOST")
    exc = info.value
    assert exc.numbers == [4305, 3013]
    assert exc.errors == errors
    assert exc.server == "EC2HOST"
    assert exc.partial == partial
    assert "EC2HOST" in str(exc)


def test_values_render_as_sqlclient_returns_them() -> None:
    row = [
        b"\x00\xab\xff",
        bytearray(),
        dt.datetime(2024, 5, 6, 7, 8, 9, 123456),
        dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
        dt.date(2024, 1, 2),
        dt.time(13, 14, 15, 5),
        decimal.Decimal("30000000012300001"),
        decimal.Decimal("12.50"),
        uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff"),
        1.5,
        False,
    ]
    _, out, _ = render_outcome(SqlResult([ResultSet([f"c{i}" for i in range(len(row))], [row])]), None)
    got = parse_outcome(0, out, b"", "s").result_sets[0].rows[0]
    assert got == [
        "0x00ABFF",
        "0x",
        "2024-05-06T07:08:09.1234560",
        "2024-05-06T07:08:09.0000000-05:30",
        "2024-01-02T00:00:00.0000000",
        "13:14:15.0000050",
        30000000012300001,
        12.5,
        "6F9619FF-8B86-D011-B42D-00C04FC964FF",
        1.5,
        False,
    ]
    assert isinstance(got[6], int)  # decimal(25,0) LSNs stay exact integers


def test_non_ascii_is_escaped_like_the_powershell_side() -> None:
    # Astral characters become a UTF-16 surrogate pair, as .NET strings hold them.
    assert psscript._js("a\U0001f600") == '"a\\ud83d\\ude00"'
    assert psscript._js('q"\\\x7f') == '"q\\u0022\\u005c\\u007f"'
    assert json.loads(psscript._js("\u2028 x\x00")) == "\u2028 x\x00"


def test_the_powershell_escaper_uses_the_same_character_class() -> None:
    template = psscript._SQL_SCRIPT_TEMPLATE
    assert "'^[ !#-\\[\\]-~]*$'" in template and psscript._PLAIN.pattern == "^[ !#-\\[\\]-~]*$"
    assert "'[^ !#-\\[\\]-~]'" in template and psscript._SPECIAL.pattern == "[^ !#-\\[\\]-~]"
    assert "'\\u{0:x4}'" in template


def test_output_without_the_document_is_an_error_quoting_stderr() -> None:
    stderr = (
        b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        b'<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN>'
        b'<MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV></PR></MS></Obj>'
        b'<S S="Error">Add-Type : Cannot add type. &lt;System.Web&gt;_x000D__x000A_</S>'
        b'<S S="Error">At line:1 char:1_x000D__x000A_</S></Objs>'
    )
    with pytest.raises(DbshiftError) as info:
        parse_outcome(1, b"", stderr, "EC2HOST")
    message = str(info.value)
    assert not isinstance(info.value, SqlError)
    assert "EC2HOST" in message and "exit code 1" in message
    assert "Add-Type : Cannot add type. <System.Web>" in message
    assert "Preparing modules" not in message


def test_plain_stderr_is_quoted_as_is() -> None:
    assert clean_stderr(b"dbshift-sql: System.IO.FileNotFoundException: boom\r\n") == (
        "dbshift-sql: System.IO.FileNotFoundException: boom"
    )
    with pytest.raises(DbshiftError, match="FileNotFoundException: boom"):
        parse_outcome(2, b"", b"dbshift-sql: System.IO.FileNotFoundException: boom\r\n", "s")


def test_nonzero_exit_without_errors_is_not_success() -> None:
    _, out, _ = render_outcome(SqlResult(), None)
    with pytest.raises(DbshiftError, match="exited with code 3"):
        parse_outcome(3, out, b"", "s")


def test_render_needs_exactly_one_outcome() -> None:
    with pytest.raises(ValueError):
        render_outcome(None, None)
    with pytest.raises(ValueError):
        render_outcome(SqlResult(), SqlError([SqlErrorDetail(1, "x")]))


def _strip_powershell_literals(script: str) -> str:
    """The script without comments and string literals ('' and `" escapes), for bracket checks."""
    out, i = [], 0
    while i < len(script):
        ch = script[i]
        if ch == "#" and (i == 0 or script[i - 1] in "\n \t"):
            i = script.find("\n", i)
            i = len(script) if i < 0 else i
        elif ch == "'":
            i += 1
            while i < len(script) and not (script[i] == "'" and script[i + 1 : i + 2] != "'"):
                i += 2 if script[i] == "'" else 1
            i += 1
        elif ch == '"':
            i += 1
            while i < len(script) and script[i] != '"':
                i += 2 if script[i] == "`" else 1
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


@pytest.mark.parametrize("script", [psscript._SQL_SCRIPT_TEMPLATE, psscript._BOOTSTRAP_SCRIPT])
def test_powershell_brackets_balance(script: str) -> None:
    # No PowerShell here to parse the scripts; this catches the commonest slip at least.
    code = _strip_powershell_literals(script)
    stack = []
    for ch in code:
        if ch in "({[":
            stack.append(ch)
        elif ch in ")}]":
            assert stack and "({["[")}]".index(ch)] == stack.pop(), code
    assert not stack
