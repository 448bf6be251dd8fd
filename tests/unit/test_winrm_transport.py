"""The WS-Management endpoint and WinRMSqlSession, through the real pywinrm client over HTTP.

The commands run by small test callbacks (defined here) instead of the SQL Server emulator, so these
tests cover the transport alone.
"""

from __future__ import annotations

import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import requests
import xmltodict
from winrm.exceptions import WSManFaultError
from winrm.protocol import Protocol

from dbshift.estate.process import free_port
from dbshift.estate.winrm_server import CODE_ACTION_NOT_SUPPORTED, WsmanServer
from dbshift.tsql.psscript import parse_command_line, parse_sql_script, render_outcome
from dbshift.tsql.result import ResultSet, SqlError, SqlErrorDetail, SqlResult
from dbshift.tsql.winrm import STDIN_CHUNK, RemoteShellError, WinRMSqlSession

USER = "winrm-user"
PASSWORD = "S3cret-wsman-pw"


class Recorder:
    """Test callback: runs the PowerShell 'script' by echoing it; records every invocation."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    def __call__(self, command_line: str, stdin: bytes) -> tuple[int, bytes, bytes]:
        with self.lock:
            self.calls.append((command_line, stdin))
        time.sleep(self.delay)
        script = parse_command_line(command_line, stdin)
        if script.startswith("exit "):
            code = int(script.split()[1])
            return code, b"out-" + str(code).encode(), b"err-" + str(code).encode()
        if script == "raise":
            raise RuntimeError("callback exploded")
        if script.startswith("repeat "):
            _, char, count = script.split()
            return 0, char.encode() * int(count), b""
        return 0, script.encode("utf-8"), b""


def fake_sql_host(command_line: str, stdin: bytes) -> tuple[int, bytes, bytes]:
    """Test callback standing in for the SQL Server: echoes what the script asked for, or fails."""
    req = parse_sql_script(parse_command_line(command_line, stdin))
    if req.sql.startswith("FAIL"):
        return render_outcome(None, SqlError([SqlErrorDetail(208, "Invalid object name 'nope'.", 16, 1, 3)]))
    row = [req.sql, req.database, req.sql_username, req.sql_password, req.timeout, len(stdin)]
    cols = ["sql", "database", "login", "password", "timeout", "stdin_bytes"]
    return render_outcome(SqlResult([ResultSet(cols, [row])], ["printed"]), None)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def server(recorder: Recorder) -> Iterator[WsmanServer]:
    with WsmanServer(recorder, USER, PASSWORD) as srv:
        yield srv


def session(url: str, **kwargs) -> WinRMSqlSession:
    args = {"transport": "basic", "server_instance": "SQLHOST"} | kwargs
    return WinRMSqlSession(url, args.pop("username", USER), args.pop("password", PASSWORD), **args)


def test_short_script_runs_inline_and_long_script_over_stdin(server: WsmanServer, recorder: Recorder) -> None:
    long_script = "# " + "y" * 12000
    with session(server.url) as s:
        assert s.run_powershell("Write-Output 1") == (0, b"Write-Output 1", b"")
        assert s.run_powershell(long_script) == (0, long_script.encode(), b"")
    (inline_cmd, inline_stdin), (boot_cmd, boot_stdin) = recorder.calls
    assert inline_cmd.startswith("powershell.exe -NoProfile -NonInteractive -EncodedCommand ")
    assert inline_stdin == b""
    assert len(boot_cmd) < 8000 and len(boot_stdin) > 12000


def test_stdin_larger_than_one_send_arrives_whole(server: WsmanServer, recorder: Recorder) -> None:
    script = "# " + "".join(str(i % 10) for i in range(3 * STDIN_CHUNK))
    with session(server.url) as s:
        code, out, _ = s.run_powershell(script)
    assert code == 0 and out.decode() == script
    assert len(recorder.calls[0][1]) > 3 * STDIN_CHUNK  # several Send requests, joined in order


def test_output_bigger_than_one_receive_is_streamed_in_order(recorder: Recorder) -> None:
    with WsmanServer(recorder, USER, PASSWORD, receive_chunk=1000) as srv, session(srv.url) as s:
        code, out, err = s.run_powershell("repeat z 250000")
    assert (code, len(out), err) == (0, 250000, b"")
    assert set(out) == {ord("z")}


def test_exit_code_and_stderr_pass_through(server: WsmanServer) -> None:
    with session(server.url) as s:
        assert s.run_powershell("exit 7") == (7, b"out-7", b"err-7")
        assert s.run_powershell("exit 0") == (0, b"out-0", b"err-0")


def test_callback_failure_is_a_failed_command_not_a_hang(server: WsmanServer) -> None:
    with session(server.url) as s:
        code, out, err = s.run_powershell("raise")
    assert code == 1 and out == b""
    assert b"callback exploded" in err


def test_long_command_survives_operation_timeouts_and_runs_once() -> None:
    slow = Recorder(delay=3.5)
    with WsmanServer(slow, USER, PASSWORD) as srv, session(srv.url, operation_timeout_sec=1, read_timeout_sec=3) as s:
        started = time.monotonic()
        code, out, _ = s.run_powershell("slow one")
        elapsed = time.monotonic() - started
    assert (code, out) == (0, b"slow one")
    assert len(slow.calls) == 1  # the timed-out Receives were retried, the command was not re-run
    assert elapsed >= 3.5


def test_one_shell_is_reused_and_closed(server: WsmanServer) -> None:
    s = session(server.url)
    for i in range(3):
        assert s.run_powershell(f"# {i}")[1] == f"# {i}".encode()
    assert server.open_shells == 1
    s.close()
    assert server.open_shells == 0
    s.close()  # twice is fine
    assert s.run_powershell("# again")[1] == b"# again"  # reopens on demand
    s.close()


def test_a_dropped_shell_is_replaced_without_rerunning(server: WsmanServer, recorder: Recorder) -> None:
    with session(server.url) as s:
        s.run_powershell("# first")
        server.drop_shells()  # as when WinRM's idle timeout expires
        assert s.run_powershell("# second") == (0, b"# second", b"")
    assert [parse_command_line(c, i) for c, i in recorder.calls] == ["# first", "# second"]


def test_wrong_password_is_a_clear_error_without_the_secret(server: WsmanServer, recorder: Recorder) -> None:
    with pytest.raises(RemoteShellError) as info, session(server.url, password="wrong-password-123") as s:
        s.run_powershell("# never")
    message = str(info.value)
    assert USER in message and "winrm_password" in message and server.url in message
    assert "wrong-password-123" not in message
    assert recorder.calls == []


def test_ntlm_client_against_basic_only_endpoint_names_the_transport(server: WsmanServer) -> None:
    with pytest.raises(RemoteShellError, match="'ntlm' transport"), session(server.url, transport="ntlm") as s:
        s.run_powershell("# never")


def test_nothing_listening_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/wsman"
    with pytest.raises(RemoteShellError, match="cannot connect to WinRM endpoint"), session(url) as s:
        s.run_powershell("# never")


def test_round_trips_are_not_slowed_by_delayed_acks(server: WsmanServer) -> None:
    with session(server.url) as s:
        s.run_powershell("# warm up")
        started = time.monotonic()
        for i in range(30):
            s.run_powershell(f"# {i}")
        per_call = (time.monotonic() - started) / 30
    # Each call is 3 HTTP exchanges; with Nagle + delayed ACK it costs ~100-200 ms.
    assert per_call < 0.08, per_call


# --- SqlSession.execute over the transport (test SQL host callback) ---


def test_execute_round_trips_sql_and_login_over_stdin() -> None:
    with (
        WsmanServer(fake_sql_host, USER, PASSWORD) as srv,
        session(srv.url, sql_username="dbadmin", sql_password="Sql-Pw-1") as s,
    ):
        result = s.execute("SELECT N'ü''x'", database="Sales", timeout=30)
    row = result.rows[0]
    assert row["sql"] == "SELECT N'ü''x'" and row["database"] == "Sales" and row["timeout"] == 30
    assert (row["login"], row["password"]) == ("dbadmin", "Sql-Pw-1")
    assert row["stdin_bytes"] > 0  # a password never goes on the command line
    assert result.messages == ["printed"]


def test_execute_without_login_uses_integrated_security_inline_or_not() -> None:
    with WsmanServer(fake_sql_host, USER, PASSWORD) as srv, session(srv.url) as s:
        row = s.execute("SELECT 1").rows[0]
    assert row["login"] is None and row["password"] is None and row["timeout"] is None


def test_execute_raises_sql_error_with_the_number() -> None:
    with (
        WsmanServer(fake_sql_host, USER, PASSWORD) as srv,
        session(srv.url) as s,
        pytest.raises(SqlError) as info,
    ):
        s.execute("FAIL SELECT * FROM nope")
    assert info.value.number == 208
    assert info.value.errors[0].line == 3
    assert info.value.server == "SQLHOST"


# --- the wire format, checked with raw requests ---


def _envelope(
    protocol: Protocol, action: str, shell_id: str | None = None, body: dict | None = None
) -> tuple[str, str]:
    message_id = uuid.uuid4()
    req = {
        "env:Envelope": protocol.build_wsman_header(
            action=action,
            resource_uri="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd",
            shell_id=shell_id,
            message_id=message_id,
        )
    }
    req["env:Envelope"]["env:Body"] = body or {}
    return f"uuid:{message_id}", xmltodict.unparse(req)


def _relates_to(xml: bytes) -> str:
    root = ET.fromstring(xml)
    return next(n.text for n in root.iter() if n.tag.endswith("RelatesTo")) or ""


def test_every_answer_relates_to_its_request(server: WsmanServer) -> None:
    protocol = Protocol(server.url, transport="basic", username=USER, password=PASSWORD, proxy=None, ca_trust_path=None)
    post = requests.Session()
    post.auth = (USER, PASSWORD)
    shell_ns = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"

    mid, msg = _envelope(
        protocol,
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
        body={"rsp:Shell": {"@xmlns:rsp": shell_ns, "rsp:InputStreams": "stdin"}},
    )
    answer = post.post(server.url, data=msg)
    assert answer.status_code == 200 and _relates_to(answer.content) == mid
    shell_id = next(n.text for n in ET.fromstring(answer.content).iter() if n.tag.endswith("ShellId"))

    mid, msg = _envelope(
        protocol,
        f"{shell_ns}/Command",
        shell_id,
        {"rsp:CommandLine": {"@xmlns:rsp": shell_ns, "rsp:Command": "ipconfig"}},
    )
    answer = post.post(server.url, data=msg)
    assert _relates_to(answer.content) == mid
    command_id = next(n.text for n in ET.fromstring(answer.content).iter() if n.tag.endswith("CommandId"))

    mid, msg = _envelope(
        protocol,
        f"{shell_ns}/Receive",
        shell_id,
        {
            "rsp:Receive": {
                "@xmlns:rsp": shell_ns,
                "rsp:DesiredStream": {"@CommandId": command_id, "#text": "stdout stderr"},
            }
        },
    )
    answer = post.post(server.url, data=msg)
    assert _relates_to(answer.content) == mid and b"CommandState/Done" in answer.content

    mid, msg = _envelope(protocol, "http://example.invalid/Frobnicate", shell_id)
    answer = post.post(server.url, data=msg)
    assert answer.status_code == 500 and _relates_to(answer.content) == mid
    assert f'Code="{CODE_ACTION_NOT_SUPPORTED}"'.encode() in answer.content

    mid, msg = _envelope(protocol, "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete", shell_id)
    answer = post.post(server.url, data=msg)
    assert answer.status_code == 200 and _relates_to(answer.content) == mid
    assert server.open_shells == 0


def test_unauthenticated_requests_get_a_basic_challenge(server: WsmanServer) -> None:
    answer = requests.post(server.url, data=b"<x/>", proxies={"http": ""})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].lower().startswith("basic")
    assert requests.post(server.url.replace("/wsman", "/other"), data=b"", auth=(USER, PASSWORD)).status_code == 404


def test_unknown_shell_is_the_fault_pywinrm_understands(server: WsmanServer) -> None:
    protocol = Protocol(server.url, transport="basic", username=USER, password=PASSWORD, proxy=None, ca_trust_path=None)
    with pytest.raises(WSManFaultError) as info:
        protocol.run_command("0000-NOT-A-SHELL", "ipconfig")
    assert info.value.wsman_fault_code == 2150858843
    assert "shell was not found" in info.value.reason
