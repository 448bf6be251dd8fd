"""A WS-Management (WinRM) remote-shell endpoint on 127.0.0.1, for the emulated estate.

It speaks the subset of WS-Management (MS-WSMV) that WinRM clients such as pywinrm use to run a
command: Create (shell), Command, Send (stdin), Receive (stdout/stderr/exit code), Signal
(terminate) and Delete (shell), with the answers and SOAP faults Windows gives, including the
w:TimedOut fault (code 2150858793) for a Receive whose command is still running after the request's
OperationTimeout — clients retry that Receive without re-running the command.

Commands do not run on Windows: each one is handed to a `run_command(command_line, stdin)` callback
in a worker thread. Its stdin is what the client sent before the first Receive (or up to End="true").
Authentication: HTTP Basic only (as WinRM with Basic enabled over HTTP).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
import socket
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

log = logging.getLogger(__name__)

RunCommand = Callable[[str, bytes], tuple[int, bytes, bytes]]

NS_S = "http://www.w3.org/2003/05/soap-envelope"
NS_A = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_X = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
NS_W = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
NS_P = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
NS_RSP = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
NS_F = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"

SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_COMMAND = f"{NS_RSP}/Command"
ACTION_SEND = f"{NS_RSP}/Send"
ACTION_RECEIVE = f"{NS_RSP}/Receive"
ACTION_SIGNAL = f"{NS_RSP}/Signal"
STATE_DONE = f"{NS_RSP}/CommandState/Done"
STATE_RUNNING = f"{NS_RSP}/CommandState/Running"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

# WinRM's error codes (winerror.h ERROR_WSMAN_*) for the faults this endpoint can give.
CODE_TIMED_OUT = 2150858793
CODE_SHELL_NOT_FOUND = 2150858843
CODE_ACTION_NOT_SUPPORTED = 2150858771
CODE_INVALID_PARAMETER = 2150858810
CODE_ENCODING_LIMIT = 2150858805
CODE_INVALID_RESOURCE_URI = 2150858811

# WinRM's default MaxEnvelopeSizekb is 500: bigger requests are refused.
MAX_REQUEST_BYTES = 500 * 1024
# Stream bytes per Receive answer, so each answer stays under the client's MaxEnvelopeSize
# (pywinrm asks for 153600): base64 grows 4/3, plus the envelope.
DEFAULT_RECEIVE_CHUNK = 96 * 1024
MAX_OPERATION_TIMEOUT = 600.0


class WsmanFault(Exception):
    def __init__(self, subcode: str, code: int, reason: str, sender: bool = True, http_status: int = 500):
        super().__init__(reason)
        self.subcode = subcode
        self.code = code
        self.reason = reason
        self.sender = sender
        self.http_status = http_status


@dataclass
class _Command:
    command_id: str
    command_line: str
    stdin: bytearray = field(default_factory=bytearray)
    started: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    exit_code: int = -1
    stdout: bytes = b""
    stderr: bytes = b""
    sent_out: int = 0
    sent_err: int = 0


@dataclass
class _Shell:
    shell_id: str
    owner: str
    commands: dict[str, _Command] = field(default_factory=dict)


@dataclass
class _Request:
    action: str
    message_id: str
    resource_uri: str
    shell_id: str | None
    operation_timeout: float
    body: ET.Element


def _parse_duration(text: str | None, default: float) -> float:
    """xs:duration as WinRM clients send it (PT20S, PT20.000S, PT1M30S) → seconds."""
    if not text:
        return default
    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", text.strip())
    if not m:
        raise WsmanFault(
            "w:InvalidParameter", CODE_INVALID_PARAMETER, f"OperationTimeout {text!r} is not an xs:duration"
        )
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in m.groups())
    return min(days * 86400 + hours * 3600 + minutes * 60 + seconds, MAX_OPERATION_TIMEOUT)


def _parse_request(raw: bytes) -> _Request:
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise WsmanFault("w:SchemaValidationError", 2150858817, f"The request is not well-formed XML: {exc}") from exc
    header = root.find(f"{{{NS_S}}}Header")
    body = root.find(f"{{{NS_S}}}Body")
    if root.tag != f"{{{NS_S}}}Envelope" or header is None or body is None:
        raise WsmanFault("w:SchemaValidationError", 2150858817, "The request is not a SOAP 1.2 envelope.")
    shell_id = None
    for selector in header.iterfind(f"{{{NS_W}}}SelectorSet/{{{NS_W}}}Selector"):
        if selector.get("Name") == "ShellId":
            shell_id = (selector.text or "").strip()
    return _Request(
        action=(header.findtext(f"{{{NS_A}}}Action") or "").strip(),
        message_id=(header.findtext(f"{{{NS_A}}}MessageID") or "").strip(),
        resource_uri=(header.findtext(f"{{{NS_W}}}ResourceURI") or "").strip(),
        shell_id=shell_id,
        operation_timeout=_parse_duration(header.findtext(f"{{{NS_W}}}OperationTimeout"), 60.0),
        body=body,
    )


def _envelope(action: str, relates_to: str, body: str) -> bytes:
    return (
        f'<s:Envelope xml:lang="en-US" xmlns:s="{NS_S}" xmlns:a="{NS_A}" xmlns:x="{NS_X}" '
        f'xmlns:w="{NS_W}" xmlns:rsp="{NS_RSP}" xmlns:p="{NS_P}">'
        f"<s:Header><a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        f"<a:To>{ANONYMOUS}</a:To><a:RelatesTo>{escape(relates_to)}</a:RelatesTo></s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def _fault_envelope(fault: WsmanFault, relates_to: str) -> bytes:
    role = "s:Sender" if fault.sender else "s:Receiver"
    body = (
        f"<s:Fault><s:Code><s:Value>{role}</s:Value><s:Subcode><s:Value>{escape(fault.subcode)}</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{escape(fault.reason)}</s:Text></s:Reason>'
        f'<s:Detail><f:WSManFault xmlns:f="{NS_F}" Code="{fault.code}" Machine="127.0.0.1">'
        f"<f:Message>{escape(fault.reason)}</f:Message></f:WSManFault></s:Detail></s:Fault>"
    )
    return _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)


class WsmanServer:
    """The endpoint: `with WsmanServer(run_command, "user", "secret") as srv: srv.url`."""

    def __init__(
        self,
        run_command: RunCommand,
        username: str,
        password: str,
        host: str = "127.0.0.1",
        port: int = 0,
        receive_chunk: int = DEFAULT_RECEIVE_CHUNK,
    ) -> None:
        if not username or not password:
            raise ValueError("WsmanServer needs a username and a password (HTTP Basic authentication)")
        self._run_command = run_command
        self._username = username
        self._password = password
        self._receive_chunk = receive_chunk
        self._shells: dict[str, _Shell] = {}
        self._lock = threading.Lock()
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.wsman = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._httpd.server_address[0]}:{self.port}/wsman"

    def start(self) -> WsmanServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="wsman-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> WsmanServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def open_shells(self) -> int:
        with self._lock:
            return len(self._shells)

    def drop_shells(self) -> None:
        """Forget every shell, as WinRM does when a shell's idle timeout expires or the service restarts."""
        with self._lock:
            self._shells.clear()

    # --- authentication ---

    def authenticate(self, header: str | None) -> str | None:
        """The user name when `header` carries valid Basic credentials, else None."""
        if not header or header[:6].lower() != "basic ":
            return None
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        ok_user = hmac.compare_digest(user.encode(), self._username.encode())
        ok_password = hmac.compare_digest(password.encode(), self._password.encode())
        return user if ok_user and ok_password else None

    # --- WS-Management actions ---

    def handle(self, raw: bytes, user: str) -> tuple[int, bytes]:
        message_id = ""
        try:
            if len(raw) > MAX_REQUEST_BYTES:
                raise WsmanFault(
                    "w:EncodingLimit",
                    CODE_ENCODING_LIMIT,
                    "The WS-Management service cannot process the request because the request size exceeded "
                    "the configured MaxEnvelopeSize quota.",
                )
            req = _parse_request(raw)
            message_id = req.message_id
            if req.resource_uri != SHELL_URI:
                raise WsmanFault(
                    "w:DestinationUnreachable",
                    CODE_INVALID_RESOURCE_URI,
                    f"The WS-Management service cannot process the request: resource URI {req.resource_uri!r} "
                    f"is not supported by this endpoint (only {SHELL_URI}).",
                )
            handlers = {
                ACTION_CREATE: self._create,
                ACTION_COMMAND: self._command,
                ACTION_SEND: self._send,
                ACTION_RECEIVE: self._receive,
                ACTION_SIGNAL: self._signal,
                ACTION_DELETE: self._delete,
            }
            handler = handlers.get(req.action)
            if handler is None:
                raise WsmanFault(
                    "a:ActionNotSupported",
                    CODE_ACTION_NOT_SUPPORTED,
                    f"The action {req.action!r} is not supported by the service.",
                )
            response_action, body = handler(req, user)
            return 200, _envelope(response_action, message_id, body)
        except WsmanFault as fault:
            return fault.http_status, _fault_envelope(fault, message_id)

    def _shell(self, req: _Request) -> _Shell:
        with self._lock:
            shell = self._shells.get(req.shell_id or "")
        if shell is None:
            raise WsmanFault(
                "w:InvalidSelectors",
                CODE_SHELL_NOT_FOUND,
                f"The request for the Windows Remote Shell with ShellId {req.shell_id} failed because the shell "
                f"was not found on the server. Possible causes are: the specified ShellId is incorrect or the "
                f"shell no longer exists on the server. Provide the correct ShellId or create a new shell and "
                f"retry the operation.",
            )
        return shell

    def _command_of(self, shell: _Shell, command_id: str | None) -> _Command:
        with self._lock:
            command = shell.commands.get((command_id or "").upper())
        if command is None:
            raise WsmanFault(
                "w:InvalidParameter",
                CODE_INVALID_PARAMETER,
                f"The Windows Remote Shell command {command_id} was not found in shell {shell.shell_id}.",
            )
        return command

    def _create(self, req: _Request, user: str) -> tuple[str, str]:
        shell_id = str(uuid.uuid4()).upper()
        with self._lock:
            self._shells[shell_id] = _Shell(shell_id, user)
        body = (
            f"<x:ResourceCreated><a:Address>{escape(self.url)}</a:Address><a:ReferenceParameters>"
            f'<w:ResourceURI>{SHELL_URI}</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">{shell_id}'
            f"</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>"
            f"<rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId><rsp:ResourceUri>{SHELL_URI}</rsp:ResourceUri>"
            f"<rsp:Owner>{escape(user)}</rsp:Owner><rsp:ClientIP>127.0.0.1</rsp:ClientIP>"
            f"<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams>"
            f"<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>"
        )
        return "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse", body

    def _command(self, req: _Request, user: str) -> tuple[str, str]:
        shell = self._shell(req)
        line = req.body.find(f"{{{NS_RSP}}}CommandLine")
        program = (line.findtext(f"{{{NS_RSP}}}Command") or "").strip() if line is not None else ""
        if not program:
            raise WsmanFault("w:InvalidParameter", CODE_INVALID_PARAMETER, "The Command request has no rsp:Command.")
        args = [a.text or "" for a in line.iterfind(f"{{{NS_RSP}}}Arguments")]  # type: ignore[union-attr]
        command = _Command(str(uuid.uuid4()).upper(), " ".join([program, *args]))
        with self._lock:
            shell.commands[command.command_id] = command
        return f"{NS_RSP}/CommandResponse", (
            f"<rsp:CommandResponse><rsp:CommandId>{command.command_id}</rsp:CommandId></rsp:CommandResponse>"
        )

    def _send(self, req: _Request, user: str) -> tuple[str, str]:
        shell = self._shell(req)
        streams = list(req.body.iterfind(f"{{{NS_RSP}}}Send/{{{NS_RSP}}}Stream"))
        if not streams:
            raise WsmanFault("w:InvalidParameter", CODE_INVALID_PARAMETER, "The Send request has no rsp:Stream.")
        for stream in streams:
            if stream.get("Name") != "stdin":
                raise WsmanFault("w:InvalidParameter", CODE_INVALID_PARAMETER, "Only the stdin stream can be sent.")
            command = self._command_of(shell, stream.get("CommandId"))
            try:
                data = base64.b64decode((stream.text or "").strip(), validate=True)
            except binascii.Error as exc:
                raise WsmanFault("w:InvalidParameter", CODE_INVALID_PARAMETER, f"stdin is not base64: {exc}") from exc
            with self._lock:
                if command.started:
                    raise WsmanFault(
                        "w:InvalidParameter",
                        CODE_INVALID_PARAMETER,
                        'This endpoint hands a command its stdin when the command starts (End="true" or the '
                        "first Receive); stdin sent after that cannot be delivered.",
                    )
                command.stdin += data
            if (stream.get("End") or "").lower() == "true":
                self._start(command)
        return f"{NS_RSP}/SendResponse", "<rsp:SendResponse/>"

    def _start(self, command: _Command) -> None:
        with self._lock:
            if command.started:
                return
            command.started = True
        threading.Thread(
            target=self._run, args=(command,), name=f"wsman-cmd-{command.command_id[:8]}", daemon=True
        ).start()

    def _run(self, command: _Command) -> None:
        try:
            code, out, err = self._run_command(command.command_line, bytes(command.stdin))
        except Exception as exc:  # the callback's bug must not hang the client: report it as a failed command
            log.exception("run_command failed")
            code, out, err = (
                1,
                b"",
                f"winrm endpoint: the command failed to run: {type(exc).__name__}: {exc}\r\n".encode(),
            )
        command.exit_code, command.stdout, command.stderr = int(code), bytes(out), bytes(err)
        command.done.set()

    def _receive(self, req: _Request, user: str) -> tuple[str, str]:
        shell = self._shell(req)
        desired = req.body.find(f"{{{NS_RSP}}}Receive/{{{NS_RSP}}}DesiredStream")
        if desired is None:
            raise WsmanFault(
                "w:InvalidParameter", CODE_INVALID_PARAMETER, "The Receive request has no rsp:DesiredStream."
            )
        command = self._command_of(shell, desired.get("CommandId"))
        self._start(command)
        if not command.done.wait(req.operation_timeout):
            # What WinRM answers while the command is still running: the client retries this Receive.
            raise WsmanFault(
                "w:TimedOut",
                CODE_TIMED_OUT,
                "The WS-Management service cannot complete the operation within the time specified in "
                "OperationTimeout.  ",
                sender=False,
            )
        cid = command.command_id
        parts = []
        budget = self._receive_chunk
        with self._lock:
            for name in ("stdout", "stderr"):
                data = command.stdout if name == "stdout" else command.stderr
                sent = command.sent_out if name == "stdout" else command.sent_err
                piece = data[sent : sent + budget]
                budget -= len(piece)
                sent += len(piece)
                if name == "stdout":
                    command.sent_out = sent
                else:
                    command.sent_err = sent
                if piece:
                    encoded = base64.b64encode(piece).decode("ascii")
                    parts.append(f'<rsp:Stream Name="{name}" CommandId="{cid}">{encoded}</rsp:Stream>')
            finished = command.sent_out >= len(command.stdout) and command.sent_err >= len(command.stderr)
        if finished:
            parts.append(f'<rsp:Stream Name="stdout" CommandId="{cid}" End="true"></rsp:Stream>')
            parts.append(f'<rsp:Stream Name="stderr" CommandId="{cid}" End="true"></rsp:Stream>')
            parts.append(
                f'<rsp:CommandState CommandId="{cid}" State="{STATE_DONE}">'
                f"<rsp:ExitCode>{command.exit_code}</rsp:ExitCode></rsp:CommandState>"
            )
        else:
            parts.append(f'<rsp:CommandState CommandId="{cid}" State="{STATE_RUNNING}"></rsp:CommandState>')
        return f"{NS_RSP}/ReceiveResponse", f"<rsp:ReceiveResponse>{''.join(parts)}</rsp:ReceiveResponse>"

    def _signal(self, req: _Request, user: str) -> tuple[str, str]:
        shell = self._shell(req)
        signal = req.body.find(f"{{{NS_RSP}}}Signal")
        if signal is None:
            raise WsmanFault("w:InvalidParameter", CODE_INVALID_PARAMETER, "The Signal request has no rsp:Signal.")
        command = self._command_of(shell, signal.get("CommandId"))
        code = (signal.findtext(f"{{{NS_RSP}}}Code") or "").strip()
        if code.endswith("/signal/terminate") or code.endswith("/signal/ctrl_c") or code.endswith("/signal/ctrl_break"):
            # The worker thread cannot be killed; the command is forgotten and its result dropped.
            with self._lock:
                shell.commands.pop(command.command_id, None)
        else:
            raise WsmanFault("w:InvalidParameter", CODE_INVALID_PARAMETER, f"Unknown signal code {code!r}.")
        return f"{NS_RSP}/SignalResponse", "<rsp:SignalResponse/>"

    def _delete(self, req: _Request, user: str) -> tuple[str, str]:
        shell = self._shell(req)
        with self._lock:
            self._shells.pop(shell.shell_id, None)
        return "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse", ""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    wsman: WsmanServer

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        # Without TCP_NODELAY each request/response pair waits on delayed ACKs (~40-200 ms).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, addr


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: pywinrm reuses one connection per shell
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    timeout = 900  # drop keep-alive connections idle this long (a dead client must not pin a thread)
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # requests are not worth a log line each
        log.debug("%s - %s", self.address_string(), format % args)

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if self.path.split("?", 1)[0].rstrip("/").lower() != "/wsman":
            self._reply(404, b"")
            return
        user = self.server.wsman.authenticate(self.headers.get("Authorization"))
        if user is None:
            self._reply(401, b"", {"WWW-Authenticate": 'Basic realm="WSMAN"'})
            return
        if not raw:
            self._reply(200, b"")  # clients may probe the endpoint with an empty POST
            return
        status, body = self.server.wsman.handle(raw, user)
        self._reply(status, body)

    def do_GET(self) -> None:
        self._reply(405, b"", {"Allow": "POST"})


__all__ = ["RunCommand", "WsmanFault", "WsmanServer"]
