"""WinRM to a Windows host: WinRMSqlSession (SqlSession: T-SQL) and WinRMHost (the dbshift CLI), one transport.

SqlSession over WinRM: runs T-SQL on a SQL Server host through PowerShell, with pywinrm.

One WinRM shell stays open across execute() calls (close it with close() or a `with` block). Each
call runs `powershell.exe -NoProfile -NonInteractive -EncodedCommand <script>`; a script too long
for the Windows command line (or one carrying a SQL password, which must not appear in the host's
process list) goes over stdin behind a small bootstrap instead — never truncated. The script and
its parsing live in dbshift.tsql.psscript.

Long statements: pywinrm's Protocol.get_command_output already retries a Receive that ends in
WinRM's OperationTimeout fault (WinRMOperationTimeoutError) without re-running the command, so a
RESTORE may take hours while each HTTP request stays short. The script itself is never logged:
it can hold passwords.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Self

import requests
from winrm.exceptions import InvalidCredentialsError, WinRMError, WinRMTransportError, WSManFaultError
from winrm.protocol import Protocol

from dbshift.errors import ConfigError, DbshiftError
from dbshift.tsql.psscript import (
    CommandResult,
    build_cli_script,
    build_invocation,
    build_sql_script,
    parse_cli_outcome,
    parse_outcome,
)
from dbshift.tsql.result import SqlResult

log = logging.getLogger(__name__)

TRANSPORTS = ("ntlm", "kerberos", "credssp", "basic", "plaintext", "ssl", "certificate")
CERT_VALIDATION = ("validate", "ignore")
# Raw stdin bytes per WS-Man Send: base64 makes ~87 KB, far below WinRM's default 500 KB
# MaxEnvelopeSizekb (pywinrm would otherwise put all of stdin in one envelope).
STDIN_CHUNK = 64 * 1024
WSMAN_SHELL_NOT_FOUND = 2150858843


class RemoteShellError(DbshiftError):
    """The WinRM transport failed (credentials, network, TLS, or a WS-Management fault)."""


class WinRMShell:
    """One WinRM shell on a Windows host that runs dbshift's PowerShell scripts (the transport shared by
    WinRMSqlSession and WinRMHost). Opened on first use; close() or a `with` block closes it."""

    def __init__(
        self,
        endpoint: str,
        username: str,
        password: str,
        transport: str = "ntlm",
        server_cert_validation: str = "validate",
        operation_timeout_sec: int = 20,
        read_timeout_sec: int = 30,
        proxy: str | None = None,
        ca_trust_path: str | None = None,
    ) -> None:
        if not endpoint.lower().startswith(("http://", "https://")):
            raise ConfigError(
                f"winrm endpoint {endpoint!r} is not a URL: use http://HOST:5985/wsman or https://HOST:5986/wsman"
            )
        if transport not in TRANSPORTS:
            raise ConfigError(f"winrm transport {transport!r} is not supported: use one of {', '.join(TRANSPORTS)}")
        if server_cert_validation not in CERT_VALIDATION:
            raise ConfigError(
                f"winrm server_cert_validation {server_cert_validation!r} is invalid: use 'validate' or 'ignore'"
            )
        if not 0 < operation_timeout_sec < read_timeout_sec:
            raise ConfigError(
                f"winrm timeouts: need 0 < operation_timeout_sec ({operation_timeout_sec}) < read_timeout_sec "
                f"({read_timeout_sec}); the server may hold a Receive open for operation_timeout_sec"
            )
        self.endpoint = endpoint
        self.username = username
        self.transport = transport
        # Explicit proxy and CA bundle: pywinrm's "legacy_requests" defaults (read from the environment)
        # are deprecated. No proxy unless given; the CA bundle from the usual variables unless given.
        ca = ca_trust_path or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None
        self._protocol = Protocol(
            endpoint,
            transport=transport,  # type: ignore[arg-type]
            username=username,
            password=password,
            server_cert_validation=server_cert_validation,  # type: ignore[arg-type]
            operation_timeout_sec=operation_timeout_sec,
            read_timeout_sec=read_timeout_sec,
            proxy=proxy,
            ca_trust_path=ca,  # None: the requests default bundle
        )
        self._shell_id: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, username={self.username!r})"

    # --- lower level ---

    def run_powershell(self, script: str, force_stdin: bool = False) -> tuple[int, bytes, bytes]:
        """Run a PowerShell script in the session's shell → (exit code, stdout, stderr)."""
        invocation = build_invocation(script, force_stdin=force_stdin)
        with self._lock:
            command_id, shell_id = self._start_command(invocation.command, invocation.arguments, invocation.stdin)
            try:
                if invocation.stdin is not None:
                    data = invocation.stdin
                    with self._errors("sending the script over stdin"):
                        for start in range(0, len(data), STDIN_CHUNK):
                            end = start + STDIN_CHUNK >= len(data)
                            chunk = data[start : start + STDIN_CHUNK]
                            self._protocol.send_command_input(shell_id, command_id, chunk, end=end)
                with self._errors("waiting for the command's output"):
                    stdout, stderr, code = self._protocol.get_command_output(shell_id, command_id)
            finally:
                # Release the command on the host; a failure here must not hide the real outcome.
                with contextlib.suppress(Exception):
                    self._protocol.cleanup_command(shell_id, command_id)
        return code, stdout, stderr

    def _start_command(self, command: str, arguments: tuple[str, ...], stdin: bytes | None) -> tuple[str, str]:
        for attempt in (1, 2):
            shell_id = self._ensure_shell()
            try:
                with self._errors("starting powershell.exe"):
                    command_id = self._protocol.run_command(
                        shell_id, command, arguments, console_mode_stdin=stdin is None
                    )
                return command_id, shell_id
            except RemoteShellError as exc:
                # The host dropped our shell (idle timeout, WinRM restart): nothing ran, so a new
                # shell and one more try is safe.
                fault = exc.__cause__
                if (
                    attempt == 1
                    and isinstance(fault, WSManFaultError)
                    and fault.wsman_fault_code == WSMAN_SHELL_NOT_FOUND
                ):
                    log.info("WinRM shell on %s is gone; opening a new one", self.endpoint)
                    self._shell_id = None
                    continue
                raise
        raise AssertionError("unreachable")

    def _ensure_shell(self) -> str:
        if self._shell_id is None:
            with self._errors("opening a shell"):
                self._shell_id = self._protocol.open_shell()
        return self._shell_id

    def close(self) -> None:
        """Close the shell (and the HTTP connection). Safe to call twice."""
        with self._lock:
            shell_id, self._shell_id = self._shell_id, None
            if shell_id is None:
                return
            try:
                self._protocol.close_shell(shell_id)
            except Exception as exc:  # the shell dies with its idle timeout anyway
                log.debug("closing WinRM shell on %s failed: %s", self.endpoint, type(exc).__name__)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """pywinrm/requests exceptions → RemoteShellError naming the endpoint and the fix."""
        where = f"WinRM endpoint {self.endpoint}"
        try:
            yield
        except InvalidCredentialsError as exc:
            raise RemoteShellError(
                f"{where} rejected the credentials of user {self.username!r} (transport {self.transport!r}) "
                f"while {doing}: check winrm_username / winrm_password, and that the host accepts the "
                f"{self.transport!r} transport"
            ) from exc
        except WSManFaultError as exc:
            raise RemoteShellError(
                f"{where} answered with a WS-Management fault while {doing}: {exc.reason.strip()} "
                f"(wsman fault code {exc.wsman_fault_code})"
            ) from exc
        except WinRMTransportError as exc:
            raise RemoteShellError(f"{where} failed while {doing}: HTTP {exc.code}") from exc
        except WinRMError as exc:
            raise RemoteShellError(f"{where} failed while {doing}: {exc}") from exc
        except requests.exceptions.SSLError as exc:
            raise RemoteShellError(
                f"{where}: TLS verification failed while {doing} ({exc}); install the host's CA certificate, "
                f"or set winrm_server_cert_validation: ignore for a test host"
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise RemoteShellError(
                f"{where} did not answer in time while {doing}: check that the host is up; raise "
                f"read_timeout_sec if the network is slow"
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            raise RemoteShellError(
                f"cannot connect to {where} while {doing}: check winrm_endpoint and that WinRM listens there "
                f"({type(exc).__name__})"
            ) from exc


class WinRMSqlSession(WinRMShell):
    """Runs T-SQL on `server_instance` through the WinRM endpoint `endpoint` (SqlSession protocol).

    SQL Server authentication when `sql_username` is given, else Windows integrated security as the
    WinRM user.
    """

    def __init__(
        self,
        endpoint: str,
        username: str,
        password: str,
        server_instance: str,
        transport: str = "ntlm",
        server_cert_validation: str = "validate",
        sql_username: str | None = None,
        sql_password: str | None = None,
        operation_timeout_sec: int = 20,
        read_timeout_sec: int = 30,
        proxy: str | None = None,
        ca_trust_path: str | None = None,
    ) -> None:
        if not server_instance:
            raise ConfigError("server_instance is empty: pass the SQL Server instance name (HOST or HOST\\INSTANCE)")
        if sql_username and sql_password is None:
            raise ConfigError(f"sql_username {sql_username!r} is set but sql_password is not: set both or neither")
        super().__init__(
            endpoint,
            username,
            password,
            transport,
            server_cert_validation,
            operation_timeout_sec,
            read_timeout_sec,
            proxy,
            ca_trust_path,
        )
        self.server_instance = server_instance
        self._sql_username = sql_username or None
        self._sql_password = sql_password if sql_username else None

    def __repr__(self) -> str:
        return (
            f"WinRMSqlSession(endpoint={self.endpoint!r}, username={self.username!r}, "
            f"server_instance={self.server_instance!r}, transport={self.transport!r})"
        )

    # --- SqlSession ---

    def execute(self, sql: str, database: str | None = None, timeout: int | None = None) -> SqlResult:
        script = build_sql_script(self.server_instance, sql, database, timeout, self._sql_username, self._sql_password)
        code, out, err = self.run_powershell(script, force_stdin=self._sql_password is not None)
        return parse_outcome(code, out, err, self.server_instance)


class WinRMHost(WinRMShell):
    """The Windows host behind `endpoint`, where dbshift is installed: runs the dbshift CLI there
    (e.g. `tlog fetch`, `s3 get`) so that files land where SQL Server reads them."""

    def __init__(
        self,
        endpoint: str,
        username: str,
        password: str,
        transport: str = "ntlm",
        server_cert_validation: str = "validate",
        operation_timeout_sec: int = 20,
        read_timeout_sec: int = 30,
        proxy: str | None = None,
        ca_trust_path: str | None = None,
        dbshift_exe: str = "dbshift.exe",
    ) -> None:
        super().__init__(
            endpoint,
            username,
            password,
            transport,
            server_cert_validation,
            operation_timeout_sec,
            read_timeout_sec,
            proxy,
            ca_trust_path,
        )
        self.dbshift_exe = dbshift_exe

    def run_dbshift(self, argv: Sequence[str], timeout: float | None = None, check: bool = True) -> CommandResult:
        """Run `dbshift <argv>` on the host → CommandResult(exit_code, stdout, stderr). A non-zero exit
        raises DbshiftError with the last line of stderr (dbshift's one-line reason) unless check=False.
        `timeout` (seconds) bounds the whole command; None waits as long as it takes (WinRM operation
        timeouts are retried by pywinrm without re-running the command)."""
        script = build_cli_script(list(argv), self.dbshift_exe)
        if timeout is None:
            code, out, err = self.run_powershell(script)
        else:
            code, out, err = self._run_with_deadline(script, timeout, argv)
        result = parse_cli_outcome(code, out, err, self.endpoint)
        if check and result.exit_code != 0:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            reason = lines[-1].strip() if lines else f"exit code {result.exit_code}, no message"
            raise DbshiftError(f"dbshift {' '.join(argv[:2])} failed on {self.endpoint}: {reason}")
        return result

    def _run_with_deadline(self, script: str, timeout: float, argv: Sequence[str]) -> tuple[int, bytes, bytes]:
        box: dict[str, object] = {}

        def target() -> None:
            try:
                box["result"] = self.run_powershell(script)
            except BaseException as exc:  # handed to the caller's thread
                box["error"] = exc

        worker = threading.Thread(target=target, name="dbshift-cli", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise DbshiftError(
                f"dbshift {' '.join(argv[:2])} on {self.endpoint} did not finish within {timeout:g}s; "
                "raise the timeout (it is re-entrant: running it again resumes)"
            )
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["result"]  # type: ignore[return-value]
