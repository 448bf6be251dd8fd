"""The PowerShell script dbshift runs over WinRM to execute T-SQL, and everything that reads it back.

Both sides live in this one module so they cannot drift apart:

- `build_sql_script` writes a PowerShell 5.1 script that runs one T-SQL batch through
  System.Data.SqlClient (every result set, PRINT messages via InfoMessage, SqlException.Errors with
  Number/Class/State/LineNumber/Procedure, CommandTimeout = 0 for "no limit") and prints one JSON
  document between marker lines. All inputs travel in one base64 (UTF-8 JSON) literal, so no value
  can break the script's quoting.
- `build_invocation` turns a script into the powershell.exe command line, falling back to a small
  stdin bootstrap when the encoded command would exceed the Windows command-line limit.
- `parse_outcome` turns what the script printed into a SqlResult or a SqlError (the client side).
- `parse_command_line`, `parse_sql_script` and `render_outcome` are the other direction, used by the
  WinRM endpoint of the SQL Server emulator: they read the command and print what the script would
  print on Windows.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
import re
import shlex
import uuid
from dataclasses import dataclass
from typing import Any

from dbshift.errors import DbshiftError
from dbshift.tsql.result import SqlError, SqlErrorDetail, SqlResult

SCRIPT_MARKER = "# dbshift-sql v1"
BOOTSTRAP_MARKER = "# dbshift-stdin v1"
RESULT_BEGIN = "<<<dbshift-result>>>"
RESULT_END = "<<<end-dbshift-result>>>"

POWERSHELL = "powershell.exe"
POWERSHELL_ARGS = ("-NoProfile", "-NonInteractive", "-EncodedCommand")
# cmd.exe (WinRM runs commands through it unless told otherwise) takes at most 8191 characters;
# keep a margin for anything the shell prepends.
MAX_COMMAND_LINE = 8191
COMMAND_LINE_BUDGET = MAX_COMMAND_LINE - 191

# Exit codes of the script: 0 success, 1 SQL Server raised an error (JSON carries it),
# 2 something else failed (no JSON; the reason is on stderr).
EXIT_OK = 0
EXIT_SQL_ERROR = 1
EXIT_SCRIPT_FAILURE = 2

_PAYLOAD_PLACEHOLDER = "__DBSHIFT_REQUEST__"
_REQUEST_KEYS = ("server_instance", "database", "sql", "timeout", "sql_username", "sql_password")

# The script. PowerShell 5.1 / .NET Framework 4.x only (Windows Server 2016+ ship both).
# Output is ASCII only (every other character is \uXXXX-escaped) because powershell.exe writes
# stdout in the console code page, which would turn non-ASCII text into '?'.
_SQL_SCRIPT_TEMPLATE = r"""# dbshift-sql v1
# Written by dbshift (dbshift.tsql.psscript). Runs one T-SQL batch through System.Data.SqlClient and
# prints every result set, PRINT message and error as one JSON document between marker lines.
# Every input is inside the base64 literal below, so no value can break this script's quoting.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$dbshiftRequest = '__DBSHIFT_REQUEST__'

$inv = [Globalization.CultureInfo]::InvariantCulture
$plain = New-Object Text.RegularExpressions.Regex '^[ !#-\[\]-~]*$'
$special = New-Object Text.RegularExpressions.Regex '[^ !#-\[\]-~]'
$escapeOne = [Text.RegularExpressions.MatchEvaluator] { param($m) '\u{0:x4}' -f [int][char]$m.Value }
function Js([string]$s) {
    if ($plain.IsMatch($s)) { return '"' + $s + '"' }
    return '"' + $special.Replace($s, $escapeOne) + '"'
}
function Jv($v) {
    if ($null -eq $v -or $v -is [DBNull]) { return 'null' }
    if ($v -is [string]) { return (Js $v) }
    if ($v -is [bool]) { if ($v) { return 'true' } return 'false' }
    if ($v -is [byte[]]) { return '"0x' + [BitConverter]::ToString($v).Replace('-', '') + '"' }
    if ($v -is [datetime]) { return '"' + $v.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", $inv) + '"' }
    if ($v -is [DateTimeOffset]) { return '"' + $v.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffffzzz", $inv) + '"' }
    if ($v -is [TimeSpan]) { return '"' + $v.ToString('hh\:mm\:ss\.fffffff', $inv) + '"' }
    if ($v -is [guid]) { return '"' + $v.ToString().ToUpperInvariant() + '"' }
    if ($v -is [double] -or $v -is [single]) { return ([double]$v).ToString('R', $inv) }
    # decimal keeps its scale: decimal(25,0) prints as an integer, decimal(10,2) as 12.50
    if ($v -is [decimal] -or $v -is [long] -or $v -is [int] -or $v -is [int16] -or $v -is [byte]) {
        return $v.ToString($inv)
    }
    return (Js ([string]$v))
}

Add-Type -AssemblyName System.Web.Extensions
$serializer = New-Object System.Web.Script.Serialization.JavaScriptSerializer
$serializer.MaxJsonLength = [int]::MaxValue
$req = $serializer.DeserializeObject([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($dbshiftRequest)))

$sets = New-Object System.Collections.Generic.List[string]
$messages = New-Object System.Collections.Generic.List[string]
$errors = New-Object System.Collections.Generic.List[string]
$current = $null
$exitCode = 0
$conn = $null
try {
    $csb = New-Object System.Data.SqlClient.SqlConnectionStringBuilder
    $csb['Data Source'] = $req['server_instance']
    if ($req['database']) { $csb['Initial Catalog'] = $req['database'] }
    if ($req['sql_username']) {
        $csb['User ID'] = $req['sql_username']
        $csb['Password'] = $req['sql_password']
    } else {
        $csb['Integrated Security'] = $true
    }
    $csb['Application Name'] = 'dbshift'
    $conn = New-Object System.Data.SqlClient.SqlConnection $csb.ConnectionString
    $conn.Open()
    # Attached after Open so that only the batch's own PRINT/info messages are collected.
    $conn.add_InfoMessage([System.Data.SqlClient.SqlInfoMessageEventHandler]({
        param($source, $e)
        foreach ($m in $e.Errors) { $messages.Add($m.Message) }
    }.GetNewClosure()))
    $cmd = $conn.CreateCommand()
    $cmd.CommandText = $req['sql']
    # 0 = no limit: a long RESTORE must not be cut off by a default timeout.
    if ($null -eq $req['timeout']) { $cmd.CommandTimeout = 0 } else { $cmd.CommandTimeout = [int]$req['timeout'] }
    $reader = $cmd.ExecuteReader()
    do {
        $n = $reader.FieldCount
        if ($n -gt 0) {
            $current = New-Object Text.StringBuilder
            $cols = for ($i = 0; $i -lt $n; $i++) { Js $reader.GetName($i) }
            [void]$current.Append('{"columns":[').Append(($cols -join ',')).Append('],"rows":[')
            $values = New-Object object[] $n
            $first = $true
            while ($reader.Read()) {
                [void]$reader.GetValues($values)
                $cells = foreach ($v in $values) { Jv $v }
                if (-not $first) { [void]$current.Append(',') }
                $first = $false
                [void]$current.Append('[').Append(($cells -join ',')).Append(']')
            }
            [void]$current.Append(']}')
            $sets.Add($current.ToString())
            $current = $null
        }
    } while ($reader.NextResult())
    $reader.Close()
} catch {
    $ex = $_.Exception
    while ($null -ne $ex -and -not ($ex -is [System.Data.SqlClient.SqlException])) { $ex = $ex.InnerException }
    if ($null -eq $ex) {
        [Console]::Error.WriteLine('dbshift-sql: ' + $_.Exception.GetType().FullName + ': ' + $_.Exception.Message)
        [Console]::Error.Flush()
        exit 2
    }
    if ($null -ne $current) {
        [void]$current.Append(']}')
        $sets.Add($current.ToString())
    }
    $all = @($ex.Errors)
    $failing = @($all | Where-Object { $_.Class -gt 10 })
    if ($failing.Count -eq 0) { $failing = $all }
    foreach ($er in $all) {
        if ($failing -notcontains $er) { $messages.Add($er.Message) }
    }
    foreach ($er in $failing) {
        $errors.Add('{"number":' + $er.Number + ',"message":' + (Js $er.Message) + ',"severity":' + $er.Class +
            ',"state":' + $er.State + ',"line":' + $er.LineNumber + ',"procedure":' + (Js $er.Procedure) + '}')
        $proc = ''
        if ($er.Procedure) { $proc = ', Procedure ' + $er.Procedure }
        [Console]::Error.WriteLine('Msg ' + $er.Number + ', Level ' + $er.Class + ', State ' + $er.State + $proc +
            ', Line ' + $er.LineNumber + "`r`n" + $er.Message)
    }
    [Console]::Error.Flush()
    $exitCode = 1
} finally {
    if ($null -ne $conn) { $conn.Dispose() }
}

$doc = New-Object Text.StringBuilder
[void]$doc.Append('{')
if ($errors.Count -gt 0) { [void]$doc.Append('"errors":[').Append(($errors -join ',')).Append('],') }
[void]$doc.Append('"result_sets":[').Append(($sets -join ',')).Append('],"messages":[')
[void]$doc.Append((($messages | ForEach-Object { Js $_ }) -join ',')).Append(']}')
[Console]::Out.Write('<<<dbshift-result>>>' + "`r`n" + $doc.ToString() + "`r`n" + '<<<end-dbshift-result>>>' + "`r`n")
[Console]::Out.Flush()
exit $exitCode
"""

# Runs the real script when it arrives on stdin (base64 of its UTF-8 text, so the console code
# page cannot alter it). `$input` is powershell.exe's stdin when it runs -EncodedCommand.
_BOOTSTRAP_SCRIPT = r"""# dbshift-stdin v1
# The dbshift-sql script was too long for a command line: it arrives on stdin as base64 (UTF-8).
$ErrorActionPreference = 'Stop'
$dbshiftScript = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String((@($input) -join '') -replace '\s', ''))
& ([scriptblock]::Create($dbshiftScript))
"""


class UnsupportedCommandError(DbshiftError):
    """A command or script that dbshift's WinRM side does not produce (so cannot interpret)."""


@dataclass(frozen=True)
class SqlScriptRequest:
    server_instance: str
    database: str | None
    sql: str
    timeout: int | None
    sql_username: str | None
    sql_password: str | None = None

    def __repr__(self) -> str:  # never show the password
        return (
            f"SqlScriptRequest(server_instance={self.server_instance!r}, database={self.database!r}, "
            f"sql=<{len(self.sql)} chars>, timeout={self.timeout!r}, sql_username={self.sql_username!r})"
        )


@dataclass(frozen=True)
class PowerShellInvocation:
    """What to run over WinRM: `command` with `arguments`, then `stdin` (None: send nothing)."""

    command: str
    arguments: tuple[str, ...]
    stdin: bytes | None

    @property
    def command_line(self) -> str:
        return " ".join((self.command, *self.arguments))


# --- building (client side) -------------------------------------------------------------------


def build_sql_script(
    server_instance: str,
    sql: str,
    database: str | None = None,
    timeout: int | None = None,
    sql_username: str | None = None,
    sql_password: str | None = None,
) -> str:
    """The PowerShell script that runs `sql` on `server_instance` (see the module docstring)."""
    if not server_instance:
        raise DbshiftError("build_sql_script: server_instance is empty; pass the SQL Server instance name")
    if timeout is not None and (not isinstance(timeout, int) or timeout < 0):
        raise DbshiftError(f"build_sql_script: timeout must be a whole number of seconds >= 0 or None, got {timeout!r}")
    if sql_username and sql_password is None:
        raise DbshiftError(f"build_sql_script: sql_username {sql_username!r} given without sql_password")
    payload = {
        "server_instance": server_instance,
        "database": database or None,
        "sql": sql,
        "timeout": timeout,
        "sql_username": sql_username or None,
        "sql_password": sql_password if sql_username else None,
    }
    encoded = base64.b64encode(json.dumps(payload, ensure_ascii=False).encode("utf-8")).decode("ascii")
    return _SQL_SCRIPT_TEMPLATE.replace(_PAYLOAD_PLACEHOLDER, encoded)


def encode_command(script: str) -> str:
    """powershell.exe -EncodedCommand takes base64 of the script's UTF-16LE bytes."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def build_invocation(script: str, force_stdin: bool = False) -> PowerShellInvocation:
    """The command for `script`: inline as -EncodedCommand when it fits the command-line budget,
    otherwise (or when `force_stdin`, e.g. the script carries a password that must not show in the
    host's process list) the stdin bootstrap inline and the script on stdin. Never truncates."""
    direct = PowerShellInvocation(POWERSHELL, (*POWERSHELL_ARGS, encode_command(script)), None)
    if not force_stdin and len(direct.command_line) <= COMMAND_LINE_BUDGET:
        return direct
    stdin = base64.b64encode(script.encode("utf-8")) + b"\r\n"
    return PowerShellInvocation(POWERSHELL, (*POWERSHELL_ARGS, encode_command(_BOOTSTRAP_SCRIPT)), stdin)


# --- reading the command (emulator side) -------------------------------------------------------


def parse_command_line(command_line: str, stdin: bytes = b"") -> str:
    """The PowerShell script a `powershell.exe ... -EncodedCommand X` command line runs (resolving
    the stdin bootstrap). Raises UnsupportedCommandError naming the program for anything else."""
    try:
        words = shlex.split(command_line, posix=False)
    except ValueError:
        words = command_line.split()
    if not words:
        raise UnsupportedCommandError("empty command line")
    program = words[0].strip('"')
    name = program.replace("/", "\\").rsplit("\\", 1)[-1].lower()
    if name not in ("powershell.exe", "powershell"):
        raise UnsupportedCommandError(
            f"the SQL Server emulator's WinRM endpoint does not run {program!r}: it only runs the "
            f"powershell.exe -EncodedCommand scripts dbshift sends"
        )
    encoded = None
    for i, word in enumerate(words[1:-1], start=1):
        flag = word.lower()
        # PowerShell accepts any unambiguous prefix of -EncodedCommand, and -ec.
        if flag == "-ec" or (len(flag) >= 2 and "-encodedcommand".startswith(flag) and flag != "-"):
            encoded = words[i + 1]
    if encoded is None:
        raise UnsupportedCommandError(
            f"the SQL Server emulator's WinRM endpoint only runs powershell.exe with -EncodedCommand; got {program!r} "
            f"with arguments {' '.join(w for w in words[1:] if len(w) < 40)!r}"
        )
    try:
        script = base64.b64decode(encoded, validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise UnsupportedCommandError(
            f"powershell.exe -EncodedCommand value is not base64 of UTF-16LE text: {exc}"
        ) from exc
    if script == _BOOTSTRAP_SCRIPT:
        try:
            script = base64.b64decode(re.sub(rb"\s", b"", stdin), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise UnsupportedCommandError(
                f"the dbshift stdin bootstrap got stdin that is not base64 of UTF-8: {exc}"
            ) from exc
    return script


def parse_sql_script(script: str) -> SqlScriptRequest:
    """The request inside a script `build_sql_script` wrote. Any other script (or an edited one)
    raises UnsupportedCommandError: the emulator runs exactly what dbshift sends, nothing else."""
    first_line = script.split("\n", 1)[0].rstrip("\r")
    if first_line != SCRIPT_MARKER:
        raise UnsupportedCommandError(
            f"not a dbshift SQL script: the first line is {first_line[:60]!r}, expected {SCRIPT_MARKER!r} "
            f"(the emulator only runs scripts built by dbshift.tsql.psscript.build_sql_script)"
        )
    match = re.search(r"^\$dbshiftRequest = '([A-Za-z0-9+/=]*)'$", script, re.MULTILINE)
    if not match:
        raise UnsupportedCommandError("dbshift-sql v1 script without its $dbshiftRequest literal")
    try:
        data = json.loads(base64.b64decode(match.group(1), validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise UnsupportedCommandError(f"dbshift-sql v1 script: the request literal is not base64 JSON: {exc}") from exc
    if not isinstance(data, dict) or set(data) != set(_REQUEST_KEYS):
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise UnsupportedCommandError(f"dbshift-sql v1 request has keys {keys}, expected {sorted(_REQUEST_KEYS)}")
    request = SqlScriptRequest(**{k: data[k] for k in _REQUEST_KEYS})
    rebuilt = build_sql_script(
        request.server_instance,
        request.sql,
        request.database,
        request.timeout,
        request.sql_username,
        request.sql_password,
    )
    if rebuilt != script:
        raise UnsupportedCommandError(
            "dbshift-sql v1 script differs from the template this dbshift version writes "
            "(edited, or written by another dbshift version): refusing to guess what it does"
        )
    return request


# --- what the script prints ---------------------------------------------------------------------

_PLAIN = re.compile(r"^[ !#-\[\]-~]*$")
_SPECIAL = re.compile(r"[^ !#-\[\]-~]")


def _js(text: str) -> str:
    """A JSON string literal, ASCII only, escaped exactly as the script's Js function does.
    (Characters outside the BMP are two UTF-16 units on Windows, so two escapes.)"""
    if _PLAIN.match(text):
        return '"' + text + '"'

    def escape(m: re.Match[str]) -> str:
        units = m.group(0).encode("utf-16-le", errors="surrogatepass")
        return "".join(f"\\u{int.from_bytes(units[i : i + 2], 'little'):04x}" for i in range(0, len(units), 2))

    return '"' + _SPECIAL.sub(escape, text) + '"'


def _jv(value: Any) -> str:
    """One cell as the script's Jv function prints the .NET value SqlClient would return."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return _js(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray | memoryview):
        return '"0x' + bytes(value).hex().upper() + '"'
    if isinstance(value, dt.datetime):
        # .NET prints 7 fractional digits; Python holds 6, so the 7th is always 0.
        text = value.replace(tzinfo=None).isoformat(timespec="microseconds") + "0"
        offset = value.utcoffset()
        if offset is not None:
            minutes = int(offset.total_seconds()) // 60
            sign = "-" if minutes < 0 else "+"
            text += f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        return '"' + text + '"'
    if isinstance(value, dt.date):  # SqlClient returns SQL date as a DateTime at midnight
        return '"' + value.isoformat() + 'T00:00:00.0000000"'
    if isinstance(value, dt.time):  # ... and SQL time as a TimeSpan
        return '"' + value.replace(tzinfo=None).isoformat(timespec="microseconds") + '0"'
    if isinstance(value, uuid.UUID):
        return '"' + str(value).upper() + '"'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise DbshiftError(f"SQL value {value!r} is not a number SQL Server can hold")
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    return _js(str(value))


def _result_body(result: SqlResult) -> list[str]:
    sets = []
    for rs in result.result_sets:
        rows = ",".join("[" + ",".join(_jv(v) for v in row) + "]" for row in rs.rows)
        sets.append('{"columns":[' + ",".join(_js(c) for c in rs.columns) + '],"rows":[' + rows + "]}")
    return [
        '"result_sets":[' + ",".join(sets) + "]",
        '"messages":[' + ",".join(_js(m) for m in result.messages) + "]",
    ]


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def render_outcome(result: SqlResult | None, error: SqlError | None) -> tuple[int, bytes, bytes]:
    """(exit code, stdout, stderr) exactly as the script prints them on Windows for this outcome."""
    if (result is None) == (error is None):
        raise ValueError("render_outcome takes exactly one of result and error")
    parts = _result_body(result if result is not None else error.partial)  # type: ignore[union-attr]
    stderr = ""
    code = EXIT_OK
    if error is not None:
        errors = ",".join(
            f'{{"number":{e.number},"message":{_js(e.message)},"severity":{e.severity},'
            f'"state":{e.state},"line":{e.line},"procedure":{_js(e.procedure)}}}'
            for e in error.errors
        )
        parts.insert(0, '"errors":[' + errors + "]")
        stderr = "".join(_crlf(e.sqlcmd_text()) + "\r\n" for e in error.errors)
        code = EXIT_SQL_ERROR
    stdout = f"{RESULT_BEGIN}\r\n{{{','.join(parts)}}}\r\n{RESULT_END}\r\n"
    return code, stdout.encode("ascii"), stderr.encode("utf-8")


# --- reading what the script printed (client side) ------------------------------------------------


def clean_stderr(stderr: bytes) -> str:
    """stderr as readable text. powershell.exe -EncodedCommand serialises its own error records as
    CLIXML ("#< CLIXML" then <Objs>); keep their text and drop progress records."""
    text = stderr.decode("utf-8", errors="replace")
    marker = "#< CLIXML"
    if marker not in text:
        return text.strip()
    before, _, xml = text.partition(marker)
    lines = []
    for m in re.finditer(r'<S S="Error">(.*?)</S>', xml, re.DOTALL):
        piece = re.sub(r"_x([0-9A-Fa-f]{4})_", lambda h: chr(int(h.group(1), 16)), m.group(1))
        piece = piece.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
        lines.append(piece.replace("&amp;", "&"))
    return (before.strip() + "\n" + "".join(lines).strip()).strip()


def parse_outcome(exit_code: int, stdout: bytes, stderr: bytes, server: str) -> SqlResult:
    """What the script printed → SqlResult, or raise SqlError (SQL Server's errors) or DbshiftError
    (the script never got to print its JSON, e.g. PowerShell failed before connecting)."""
    text = stdout.decode("utf-8", errors="replace")
    begin = text.find(RESULT_BEGIN)
    end = text.find(RESULT_END, begin + 1) if begin >= 0 else -1
    if begin < 0 or end < 0:
        reason = clean_stderr(stderr) or text.strip()[-2000:] or "(no output)"
        if exit_code == EXIT_SCRIPT_FAILURE and reason.startswith("dbshift-sql:"):
            # The script ran and caught a failure that is not SQL Server's (its own message says what).
            raise DbshiftError(f"the dbshift SQL script failed on the WinRM host for {server}: {reason}")
        raise DbshiftError(
            f"the dbshift SQL script did not finish on the WinRM host for {server} (exit code {exit_code}): "
            f"{reason}\nCheck that the host runs Windows PowerShell 5.1 with .NET Framework 4.x and can "
            f"reach the SQL Server instance."
        )
    try:
        doc = json.loads(text[begin + len(RESULT_BEGIN) : end])
    except ValueError as exc:
        raise DbshiftError(f"the dbshift SQL script for {server} printed a malformed result document: {exc}") from exc
    partial = SqlResult.from_json(doc)
    if doc.get("errors"):
        raise SqlError([SqlErrorDetail.from_json(e) for e in doc["errors"]], server=server, partial=partial)
    if exit_code != EXIT_OK:
        raise DbshiftError(
            f"the dbshift SQL script for {server} exited with code {exit_code} without an error document: "
            f"{clean_stderr(stderr) or '(no stderr)'}"
        )
    return partial


# --- the dbshift CLI on the host (dbshift-cli v1) -------------------------------------------------

CLI_SCRIPT_MARKER = "# dbshift-cli v1"
CLI_BEGIN = "<<<dbshift-cli>>>"
CLI_END = "<<<end-dbshift-cli>>>"
_CLI_PLACEHOLDER = "__DBSHIFT_ARGV__"

# Runs dbshift.exe with the arguments inside the base64 literal (quoted for CreateProcess, since
# .NET Framework's ProcessStartInfo takes one argument string) and prints its exit code, stdout and
# stderr as base64 of UTF-8 between marker lines: the console code page cannot alter them.
_CLI_SCRIPT_TEMPLATE = r"""# dbshift-cli v1
# Written by dbshift (dbshift.tsql.psscript). Runs the dbshift command line on this host and prints its
# exit code, stdout and stderr as one base64 document between marker lines.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$dbshiftArgv = '__DBSHIFT_ARGV__'

Add-Type -AssemblyName System.Web.Extensions
$serializer = New-Object System.Web.Script.Serialization.JavaScriptSerializer
$req = $serializer.DeserializeObject([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($dbshiftArgv)))

# One argument as CommandLineToArgvW reads it back.
function Quote-Arg([string]$a) {
    if ($a.Length -gt 0 -and $a -notmatch '[\s"]') { return $a }
    $sb = New-Object Text.StringBuilder
    [void]$sb.Append('"')
    $slashes = 0
    foreach ($c in $a.ToCharArray()) {
        if ($c -eq [char]'\') { $slashes++; continue }
        if ($c -eq [char]'"') { [void]$sb.Append([char]'\', 2 * $slashes + 1); $slashes = 0 }
        elseif ($slashes -gt 0) { [void]$sb.Append([char]'\', $slashes); $slashes = 0 }
        [void]$sb.Append($c)
    }
    [void]$sb.Append([char]'\', 2 * $slashes).Append('"')
    return $sb.ToString()
}

try {
    $psi = New-Object System.Diagnostics.ProcessStartInfo
    $psi.FileName = $req['exe']
    $psi.Arguments = (@($req['argv']) | ForEach-Object { Quote-Arg ([string]$_) }) -join ' '
    $psi.UseShellExecute = $false
    $psi.CreateNoWindow = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.StandardOutputEncoding = [Text.Encoding]::UTF8
    $psi.StandardErrorEncoding = [Text.Encoding]::UTF8
    $psi.EnvironmentVariables['PYTHONIOENCODING'] = 'utf-8'
    $proc = [Diagnostics.Process]::Start($psi)
    # Read both pipes at once: a child blocked on a full stderr pipe would never finish stdout.
    $outTask = $proc.StandardOutput.ReadToEndAsync()
    $err = $proc.StandardError.ReadToEnd()
    $out = $outTask.Result
    $proc.WaitForExit()
    $code = $proc.ExitCode
} catch {
    [Console]::Error.WriteLine('dbshift-cli: ' + $_.Exception.GetType().FullName + ': ' + $_.Exception.Message)
    [Console]::Error.Flush()
    exit 2
}
$utf8 = New-Object Text.UTF8Encoding $false
$doc = '{"exit_code":' + $code + ',"stdout":"' + [Convert]::ToBase64String($utf8.GetBytes($out)) +
    '","stderr":"' + [Convert]::ToBase64String($utf8.GetBytes($err)) + '"}'
[Console]::Out.Write('<<<dbshift-cli>>>' + "`r`n" + $doc + "`r`n" + '<<<end-dbshift-cli>>>' + "`r`n")
[Console]::Out.Flush()
exit $code
"""


@dataclass(frozen=True)
class CliRequest:
    argv: tuple[str, ...]
    exe: str


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    stdout: str
    stderr: str


def build_cli_script(argv: list[str] | tuple[str, ...], exe: str = "dbshift.exe") -> str:
    """The PowerShell script that runs `exe argv...` on the host (see _CLI_SCRIPT_TEMPLATE). Secrets
    must not be in argv: they would show in the host's process list."""
    if not all(isinstance(a, str) for a in argv):
        raise DbshiftError(f"build_cli_script: every argument must be a string, got {list(argv)!r}")
    payload = {"exe": exe, "argv": list(argv)}
    encoded = base64.b64encode(json.dumps(payload, ensure_ascii=False).encode("utf-8")).decode("ascii")
    return _CLI_SCRIPT_TEMPLATE.replace(_CLI_PLACEHOLDER, encoded)


def parse_cli_script(script: str) -> CliRequest:
    """The request inside a script build_cli_script wrote; anything else raises UnsupportedCommandError."""
    first_line = script.split("\n", 1)[0].rstrip("\r")
    if first_line != CLI_SCRIPT_MARKER:
        raise UnsupportedCommandError(f"not a dbshift CLI script: the first line is {first_line[:60]!r}")
    match = re.search(r"^\$dbshiftArgv = '([A-Za-z0-9+/=]*)'$", script, re.MULTILINE)
    if not match:
        raise UnsupportedCommandError("dbshift-cli v1 script without its $dbshiftArgv literal")
    try:
        data = json.loads(base64.b64decode(match.group(1), validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise UnsupportedCommandError(f"dbshift-cli v1 script: the argv literal is not base64 JSON: {exc}") from exc
    if not isinstance(data, dict) or set(data) != {"exe", "argv"} or not isinstance(data["argv"], list):
        raise UnsupportedCommandError("dbshift-cli v1 request must be {'exe': ..., 'argv': [...]}")
    request = CliRequest(tuple(str(a) for a in data["argv"]), str(data["exe"]))
    if build_cli_script(list(request.argv), request.exe) != script:
        raise UnsupportedCommandError(
            "dbshift-cli v1 script differs from the template this dbshift version writes: refusing to guess"
        )
    return request


def is_cli_script(script: str) -> bool:
    return script.split("\n", 1)[0].rstrip("\r") == CLI_SCRIPT_MARKER


def render_cli_outcome(exit_code: int, stdout: str, stderr: str) -> tuple[int, bytes, bytes]:
    """(exit code, stdout, stderr) exactly as the dbshift-cli script prints them for this run."""
    doc = json.dumps(
        {
            "exit_code": exit_code,
            "stdout": base64.b64encode(stdout.encode("utf-8")).decode("ascii"),
            "stderr": base64.b64encode(stderr.encode("utf-8")).decode("ascii"),
        },
        separators=(",", ":"),
    )
    return exit_code, f"{CLI_BEGIN}\r\n{doc}\r\n{CLI_END}\r\n".encode("ascii"), b""


def parse_cli_outcome(exit_code: int, stdout: bytes, stderr: bytes, host: str) -> CommandResult:
    """What the dbshift-cli script printed → CommandResult; DbshiftError when dbshift never ran."""
    text = stdout.decode("utf-8", errors="replace")
    begin = text.find(CLI_BEGIN)
    end = text.find(CLI_END, begin + 1) if begin >= 0 else -1
    if begin < 0 or end < 0:
        reason = clean_stderr(stderr) or text.strip()[-2000:] or "(no output)"
        raise DbshiftError(
            f"the dbshift command did not run on {host} (exit code {exit_code}): {reason}\n"
            "Check that dbshift is installed there (dbshift.exe on PATH) and that PowerShell 5.1 runs."
        )
    try:
        doc = json.loads(text[begin + len(CLI_BEGIN) : end])
        out = base64.b64decode(doc["stdout"]).decode("utf-8", errors="replace")
        err = base64.b64decode(doc["stderr"]).decode("utf-8", errors="replace")
        code = int(doc["exit_code"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise DbshiftError(f"the dbshift-cli script on {host} printed a malformed result document: {exc}") from exc
    return CommandResult(code, out, err)
