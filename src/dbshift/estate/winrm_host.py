"""The emulated SQL Server host: a WinRM endpoint whose PowerShell runs T-SQL on the SQL Server EMULATOR.

    python -m dbshift.estate.winrm_host --config FILE --port N --username U --password-file F

The config is {"root": "...", "instances": [InstanceConfig.to_json(), ...]}; an instance may carry
"sql_password_file" instead of "sql_password" so that no secret sits in the config. The WinRM
password comes from a file too, so it never shows in a process list.

Each `powershell.exe ... -EncodedCommand X` that dbshift sends is decoded (the stdin bootstrap's
script comes from stdin), read with dbshift.tsql.psscript.parse_sql_script, executed on the
emulator, and answered with exactly what the real script prints on Windows (render_outcome).
Any other command fails with exit code 1 and a stderr line naming it.

A `# dbshift-cli v1` script (dbshift.tsql.psscript.build_cli_script) runs the real dbshift CLI as
`python -m dbshift.cli ARGV` in a subprocess, as dbshift.exe would run on the EC2 host: absolute
Windows paths in ARGV become paths in the EC2 instance's HostFs (where its RESTORE reads files) and
HostFs paths in the output become Windows paths again. The child's environment is the config's
"host_env" (the emulated instance profile: AWS endpoint, region, keys) over this process's own.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from dbshift.errors import ConfigError
from dbshift.estate.winrm_server import RunCommand, WsmanServer
from dbshift.tsql.psscript import (
    EXIT_SCRIPT_FAILURE,
    UnsupportedCommandError,
    is_cli_script,
    parse_cli_script,
    parse_command_line,
    parse_sql_script,
    render_cli_outcome,
    render_outcome,
)
from dbshift.tsql.result import SqlError

log = logging.getLogger("dbshift.estate.winrm_host")


def _read_secret(path: str, what: str) -> str:
    try:
        value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(f"cannot read {what} from {path}: {exc.strerror}") from exc
    if not value:
        raise ConfigError(f"{what} file {path} is empty")
    return value


def load_config(path: Path) -> tuple[Path, list[Any]]:
    """(root, [InstanceConfig]) from the host's JSON config, reading any sql_password_file."""
    from dbshift.estate.sqlserver import InstanceConfig

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the SQL Server emulator config {path}: {exc}") from exc
    if not isinstance(data, dict) or "root" not in data or not isinstance(data.get("instances"), list):
        raise ConfigError(f"{path}: expected {{'root': DIR, 'instances': [...]}}")
    instances = []
    for raw in data["instances"]:
        item = dict(raw)
        secret_file = item.pop("sql_password_file", None)
        if secret_file:
            item["sql_password"] = _read_secret(secret_file, f"instance {item.get('name')!r} sql_password")
        instances.append(InstanceConfig.from_json(item))
    return Path(data["root"]), instances


def load_host_env(path: Path) -> dict[str, str] | None:
    """The config's "host_env" (what programs on the emulated EC2 host see), or None when absent."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the SQL Server emulator config {path}: {exc}") from exc
    env = data.get("host_env") if isinstance(data, dict) else None
    if env is None:
        return None
    if not isinstance(env, dict):
        raise ConfigError(f"{path}: host_env must be an object of environment variables")
    return {str(k): str(v) for k, v in env.items()}


def load_tds_ports(path: Path) -> dict[str, int]:
    """The config's "tds_ports": lower-case instance name -> TCP port of its TDS listener (may be absent)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the SQL Server emulator config {path}: {exc}") from exc
    ports = data.get("tds_ports") if isinstance(data, dict) else None
    if ports is None:
        return {}
    if not isinstance(ports, dict) or not all(isinstance(v, int) for v in ports.values()):
        raise ConfigError(f"{path}: tds_ports must map instance names to port numbers")
    return {str(k).lower(): int(v) for k, v in ports.items()}


_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]")
# The AWS settings of the host come from host_env only (as an instance profile would give them).
_AWS_ENV = re.compile(r"^(AWS_|DBSHIFT_AWS_)")


def _ec2_hostfs(emulator: Any) -> Any:
    for inst in emulator.instances.values():
        if inst.config.kind == "ec2":
            return inst.hostfs
    raise ConfigError("the SQL Server emulator has no EC2 instance: the dbshift CLI runs on the EC2 host")


def run_cli(argv: tuple[str, ...], hostfs: Any, host_env: dict[str, str] | None) -> tuple[int, str, str]:
    """dbshift ARGV in a subprocess with Windows paths mapped onto `hostfs` → (exit, stdout, stderr)."""
    local_args = []
    for arg in argv:
        if _WINDOWS_PATH.match(arg):
            try:
                arg = str(hostfs.local_path(arg))
            except ValueError as exc:
                return 2, "", f"dbshift: error: {exc}\n"
        local_args.append(arg)
    env = dict(os.environ)
    if host_env is not None:
        env = {k: v for k, v in env.items() if not _AWS_ENV.match(k)}
        env.update(host_env)
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.run([sys.executable, "-m", "dbshift.cli", *local_args], capture_output=True, env=env, check=False)
    roots = sorted({str(Path(hostfs.root)), str(Path(hostfs.root).resolve())}, key=len, reverse=True)

    def to_windows(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            try:
                return hostfs.windows_path(Path(m.group(0)))
            except (ValueError, IndexError):
                return m.group(0)

        pattern = "(?:" + "|".join(re.escape(r) for r in roots) + r")/[^\s'\"]*"
        return re.sub(pattern, one, text)

    def line_to_windows(line: str) -> str:
        # stdout lines that are one path (tlog fetch, s3 get) may hold spaces: map the whole line
        if any(line.startswith(r + "/") for r in roots):
            try:
                return hostfs.windows_path(Path(line))
            except (ValueError, IndexError):
                pass
        return to_windows(line)

    out = "\n".join(line_to_windows(line) for line in proc.stdout.decode("utf-8", errors="replace").split("\n"))
    err = to_windows(proc.stderr.decode("utf-8", errors="replace"))
    # Python on Windows writes CRLF line ends to its redirected stdout/stderr.
    return proc.returncode, out.replace("\n", "\r\n"), err.replace("\n", "\r\n")


def make_runner(emulator: Any, host_env: dict[str, str] | None = None) -> RunCommand:
    """The WS-Man command callback: dbshift's SQL scripts → emulator.execute → what the script prints;
    dbshift CLI scripts → the dbshift CLI on the EC2 host's file system (see the module docstring)."""

    def run(command_line: str, stdin: bytes) -> tuple[int, bytes, bytes]:
        try:
            script = parse_command_line(command_line, stdin)
            if is_cli_script(script):
                cli = parse_cli_script(script)
                if cli.exe.replace("/", "\\").rsplit("\\", 1)[-1].lower() not in ("dbshift.exe", "dbshift"):
                    return 2, b"", f"dbshift-cli: the emulated host has no {cli.exe!r}\r\n".encode()
                return render_cli_outcome(*run_cli(cli.argv, _ec2_hostfs(emulator), host_env))
            request = parse_sql_script(script)
        except UnsupportedCommandError as exc:
            return 1, b"", f"dbshift WinRM emulator: {exc}\r\n".encode()
        try:
            result = emulator.execute(
                request.server_instance,
                request.sql,
                request.database,
                login=request.sql_username,
                password=request.sql_password,
            )
        except SqlError as err:
            return render_outcome(None, err)
        except Exception as exc:
            # An emulator bug: answer like the script's non-SQL failure path. Log where, not values
            # (the message could quote SQL holding a password).
            log.error(
                "emulator.execute raised %s\n%s", type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__))
            )
            return EXIT_SCRIPT_FAILURE, b"", f"dbshift-sql: {type(exc).__name__}: {exc}\r\n".encode()
        return render_outcome(result, None)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="WinRM endpoint in front of the SQL Server emulator")
    parser.add_argument("--config", required=True, type=Path, help="JSON: {root, instances}")
    parser.add_argument("--port", required=True, type=int, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--username", required=True, help="WinRM (HTTP Basic) user name")
    parser.add_argument("--password-file", required=True, help="file holding the WinRM password")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    from dbshift.estate.sqlserver import SqlServerEmulator

    try:
        password = _read_secret(args.password_file, "WinRM password")
        root, instances = load_config(args.config)
        host_env = load_host_env(args.config)
        tds_ports = load_tds_ports(args.config)
    except ConfigError as exc:
        print(f"winrm_host: {exc}", file=sys.stderr)
        return 2
    emulator = SqlServerEmulator(root, instances)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = WsmanServer(make_runner(emulator, host_env), args.username, password, host=args.host, port=args.port)
    listeners = []
    try:
        from dbshift.estate.sqlserver.tds_server import TdsListener

        for name, port in tds_ports.items():
            listener = TdsListener(emulator.instance(name), host=args.host, port=port).start()
            listeners.append(listener)
            print(f"TDS listener of {name} on {listener.endpoint}", flush=True)
        server.start()
        print(f"listening on {server.url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        for listener in listeners:
            listener.stop()
        server.stop()
        emulator.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
