"""`dbshift estate up | down | status`: start, find and stop the emulated estate.

One estate per directory (default .estate/). `up` is idempotent: when the recorded processes
are alive it prints the same endpoints and starts nothing. `down` stops every process it started,
by pid (and their children), and keeps the data for the next `up`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from dbshift.aws import AwsConfig, client
from dbshift.errors import DbshiftError
from dbshift.estate import process
from dbshift.estate.postgres import SUPERUSER, PostgresServer, ensure_database

REGION = "us-east-1"
# The emulated AWS accepts any keys; these fixed ones keep the estate from using a user's real ones.
AWS_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
RDS_INSTANCE_ID = "dbshift-rds-sqlserver"
RDS_LOGIN = "admin"
EC2_SERVER = "EC2AMAZ-DBSHIFT"
WINRM_USER = "dbshift-winrm"
# The data migration's SQL Server sources (EC2-hosted), read over TDS with a SQL login.
SOURCE_INSTANCES = ("SRC1", "SRC2")
SOURCE_LOGIN = "migration_reader"
SECRET_NAMES = ("winrm_password", "rds_password", "postgres_password", "source_password")


@dataclass
class EstateInfo:
    root: Path
    region: str
    aws_endpoint_url: str
    postgres_dsn: str = field(repr=False)
    winrm_endpoint: str
    winrm_username: str
    winrm_password: str = field(repr=False)
    rds_server: str
    rds_login: str
    rds_password: str = field(repr=False)
    rds_instance_identifier: str
    rds_dbi_resource_id: str
    ec2_server: str
    # lower-case instance name (rds, ec2, src1, src2) -> "127.0.0.1:port" of its TDS listener
    tds_endpoints: dict[str, str] = field(default_factory=dict)
    source_login: str = ""
    source_password: str = field(default="", repr=False)

    def public(self) -> dict[str, Any]:
        """Everything but the secrets: what may be printed or written in the clear."""
        hidden = {"postgres_dsn", "winrm_password", "rds_password", "source_password"}
        data = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items() if k not in hidden}
        data["postgres_dsn"] = self.postgres_dsn.replace(f":{self._pg_password()}@", ":***@")
        return data

    def _pg_password(self) -> str:
        return self.postgres_dsn.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


@dataclass
class _State:
    pids: dict[str, int]
    ports: dict[str, int]
    info: dict[str, Any]  # EstateInfo.public() minus postgres_dsn; secrets live in secrets/


class Estate:
    def __init__(self, root: Path, config_dir: Path | None = None, tlog_backup_interval_seconds: float = 300.0) -> None:
        """`root` holds state, data and logs; `config_dir` (a checkout) receives inventory and tfvars.

        The emulated RDS takes a log backup every `tlog_backup_interval_seconds` (RDS: 5 minutes);
        tests raise it and take backups on demand, so that no backup lands between two checks.
        """
        self.root = Path(root).resolve()
        self.tlog_backup_interval_seconds = tlog_backup_interval_seconds
        self.config_dir = config_dir
        self.state_file = self.root / "estate.json"
        self.pg = PostgresServer(self.root / "postgres")

    # ---------------------------------------------------------------- public API
    def up(self) -> EstateInfo:
        with self._locked():
            state = self._read_state()
            if state and self._all_alive(state) and "tds_endpoints" in state.info:
                info = self._info(state)
                self._write_configs(info)
                return info
            if state:  # a half-dead estate: stop what is left, then start afresh
                self._stop(state)
            info = self._start()
            self._write_configs(info)
            return info

    def down(self) -> list[str]:
        """Stop every recorded process; returns the names stopped."""
        with self._locked():
            state = self._read_state()
            if not state:
                return []
            stopped = self._stop(state)
            self.state_file.unlink(missing_ok=True)
            return stopped

    def status(self) -> dict[str, Any]:
        state = self._read_state()
        if not state:
            return {"running": False, "root": str(self.root)}
        alive = {name: process.pid_alive(pid) for name, pid in state.pids.items()}
        return {"running": all(alive.values()), "root": str(self.root), "processes": alive, **state.info}

    def info(self) -> EstateInfo:
        state = self._read_state()
        if not state or not self._all_alive(state):
            raise DbshiftError(f"no running estate in {self.root}: run `dbshift estate up` first")
        return self._info(state)

    def pids(self) -> dict[str, int]:
        state = self._read_state()
        return dict(state.pids) if state else {}

    # ---------------------------------------------------------------- internals
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _read_state(self) -> _State | None:
        if not self.state_file.exists():
            return None
        data = json.loads(self.state_file.read_text())
        return _State(pids=data["pids"], ports=data["ports"], info=data["info"])

    def _write_state(self, state: _State) -> None:
        _write_atomic(self.state_file, json.dumps(asdict(state), indent=2) + "\n")

    @staticmethod
    def _all_alive(state: _State) -> bool:
        return bool(state.pids) and all(process.pid_alive(pid) for pid in state.pids.values())

    def _secret(self, name: str) -> str:
        """Read or create a generated secret, kept 0600 under secrets/ (never printed)."""
        path = self.root / "secrets" / name
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        value = secrets.token_urlsafe(18) + "!9a"  # meets SQL Server / RDS complexity rules
        _write_atomic(path, value + "\n", mode=0o600)
        return value

    def secret_path(self, name: str) -> Path:
        return self.root / "secrets" / name

    def _info(self, state: _State) -> EstateInfo:
        pg_password = self._secret("postgres_password")
        data = dict(state.info)
        data["root"] = self.root
        data["postgres_dsn"] = f"postgresql://{SUPERUSER}:{pg_password}@127.0.0.1:{state.ports['postgres']}/dbshift"
        data["winrm_password"] = self._secret("winrm_password")
        data["rds_password"] = self._secret("rds_password")
        data["source_password"] = self._secret("source_password")
        names = {f.name for f in fields(EstateInfo)}
        return EstateInfo(**{k: v for k, v in data.items() if k in names})

    def _start(self) -> EstateInfo:
        logs = self.root / "logs"
        pids: dict[str, int] = {}
        ports: dict[str, int] = {}
        try:
            # 1. AWS (moto server with dbshift's patches)
            ports["aws"] = process.free_port()
            aws_url = f"http://127.0.0.1:{ports['aws']}"
            pids["aws"] = process.start(
                [sys.executable, "-m", "dbshift.estate.aws_server", "--port", str(ports["aws"])],
                logs / "aws.log",
                env=_child_env(),
            )
            process.wait_until(
                lambda: process.http_answers(aws_url + "/moto-api/"), "AWS emulator", 60, logs / "aws.log", pids["aws"]
            )
            rds = _seed_aws(aws_url, self._secret("rds_password"))

            # 2. PostgreSQL (Aurora PostgreSQL stand-in)
            self.pg.init(self._secret("postgres_password"))
            ports["postgres"] = process.free_port()
            pids["postgres"] = self.pg.start(ports["postgres"])
            pg_base = f"postgresql://{SUPERUSER}:{self._secret('postgres_password')}@127.0.0.1:{ports['postgres']}"
            ensure_database(pg_base)

            # 3. WinRM endpoint hosting the SQL Server emulator (an "RDS" source and an "EC2" target)
            self._secret("winrm_password")  # created before the host reads it
            self._secret("source_password")
            ports["winrm"] = process.free_port()
            tds_ports: dict[str, int] = {}
            for name in ("RDS", "EC2", *SOURCE_INSTANCES):
                port = process.free_port()
                while port in ports.values() or port in tds_ports.values():  # free_port may repeat itself
                    port = process.free_port()
                tds_ports[name.lower()] = port
            ports.update({f"tds_{name}": port for name, port in tds_ports.items()})
            config = self._sqlserver_config(aws_url, rds, tds_ports)
            pids["winrm"] = process.start(
                [
                    sys.executable,
                    "-m",
                    "dbshift.estate.winrm_host",
                    "--config",
                    str(config),
                    "--port",
                    str(ports["winrm"]),
                    "--username",
                    WINRM_USER,
                    "--password-file",
                    str(self.secret_path("winrm_password")),
                ],
                logs / "winrm.log",
                env=_child_env(),
            )
            winrm = f"http://127.0.0.1:{ports['winrm']}/wsman"
            process.wait_until(
                lambda: process.port_open(ports["winrm"]), "WinRM endpoint", 60, logs / "winrm.log", pids["winrm"]
            )
            for name, port in tds_ports.items():
                process.wait_until(
                    lambda port=port: process.port_open(port),
                    f"TDS listener of {name}",
                    60,
                    logs / "winrm.log",
                    pids["winrm"],
                )
        except BaseException:
            for name, pid in pids.items():
                (PostgresServer.stop if name == "postgres" else process.stop)(pid)
            raise

        state = _State(
            pids=pids,
            ports=ports,
            info={
                "region": REGION,
                "aws_endpoint_url": aws_url,
                "winrm_endpoint": winrm,
                "winrm_username": WINRM_USER,
                "rds_server": rds["address"],
                "rds_login": RDS_LOGIN,
                "rds_instance_identifier": RDS_INSTANCE_ID,
                "rds_dbi_resource_id": rds["dbi_resource_id"],
                "ec2_server": EC2_SERVER,
                "tds_endpoints": {name: f"127.0.0.1:{port}" for name, port in tds_ports.items()},
                "source_login": SOURCE_LOGIN,
            },
        )
        self._write_state(state)
        info = self._info(state)
        from dbshift.estate.seed import seed_sources, seed_sqlserver

        seed_sqlserver(info)
        seed_sources(info)
        return info

    def _sqlserver_config(self, aws_url: str, rds: dict[str, str], tds_ports: dict[str, int]) -> Path:
        from dbshift.estate.sqlserver import InstanceConfig, RdsConfig

        instances = [
            InstanceConfig(
                name="RDS",
                server_names=[rds["address"], f"{rds['address']},1433"],
                kind="rds",
                sql_login=RDS_LOGIN,
                sql_password=self._secret("rds_password"),
                rds=RdsConfig(
                    db_instance_identifier=RDS_INSTANCE_ID,
                    dbi_resource_id=rds["dbi_resource_id"],
                    region=REGION,
                    aws_endpoint_url=aws_url,
                    tlog_backup_interval_seconds=self.tlog_backup_interval_seconds,
                ),
            ),
            InstanceConfig(name="EC2", server_names=[EC2_SERVER, "localhost", "(local)", "."], kind="ec2"),
            *(
                InstanceConfig(
                    name=name,
                    server_names=[name, f"{name.lower()}.dbshift.local"],
                    kind="ec2",
                    sql_login=SOURCE_LOGIN,
                    sql_password=self._secret("source_password"),
                )
                for name in SOURCE_INSTANCES
            ),
        ]
        secret_of = {"RDS": "rds_password", **{name: "source_password" for name in SOURCE_INSTANCES}}
        path = self.root / "sqlserver.json"
        # The RDS master password is not written here: the host reads it from secrets/.
        body = {
            "root": str(self.root / "sqlserver"),
            "instances": [i.to_json() for i in instances],
            # What the EC2 host's instance profile gives programs running on it (the dbshift CLI).
            "host_env": {"AWS_ENDPOINT_URL": aws_url, "AWS_DEFAULT_REGION": REGION, **AWS_KEYS},
            # A TDS listener per instance, inside the WinRM host process (the same emulator state).
            "tds_ports": tds_ports,
        }
        for inst in body["instances"]:
            if inst.get("sql_password"):
                inst["sql_password_file"] = str(self.secret_path(secret_of[inst["name"]]))
                inst["sql_password"] = None
        _write_atomic(path, json.dumps(body, indent=2) + "\n", mode=0o600)
        return path

    def _stop(self, state: _State) -> list[str]:
        stopped = []
        for name, pid in state.pids.items():
            if not process.pid_alive(pid):
                continue
            (PostgresServer.stop if name == "postgres" else process.stop)(pid)
            stopped.append(name)
        return stopped

    def _write_configs(self, info: EstateInfo) -> None:
        if self.config_dir is None:
            return
        inv = self.config_dir / "inventories" / "local"
        if inv.is_dir():
            write_ansible_vars(info, inv / "group_vars" / "all" / "estate.yml", self.root / "secrets")
        stack = self.config_dir / "terraform" / "stacks" / "local"
        if stack.is_dir():
            write_tfvars(info, stack / "estate.auto.tfvars.json")


def write_ansible_vars(info: EstateInfo, path: Path, secrets_dir: Path) -> None:
    """Inventory variables for the estate; secrets are file lookups, never values."""

    def lookup(name: str) -> str:
        return f"\"{{{{ lookup('ansible.builtin.file', '{secrets_dir / name}') }}}}\""

    lines = [
        "# Written by `dbshift estate up`: endpoints of the emulated estate. Do not commit.",
        f"dbshift_estate_root: {json.dumps(str(info.root))}",
        f"dbshift_aws_endpoint_url: {json.dumps(info.aws_endpoint_url)}",
        f"dbshift_region: {json.dumps(info.region)}",
        "# The emulated AWS accepts any keys: fixed fake ones, so no real credentials reach it.",
        f"dbshift_aws_environment: {json.dumps(AWS_KEYS)}",
        f"dbshift_winrm_endpoint: {json.dumps(info.winrm_endpoint)}",
        f"dbshift_winrm_username: {json.dumps(info.winrm_username)}",
        'dbshift_winrm_transport: "basic"',
        'dbshift_winrm_server_cert_validation: "ignore"',
        f"dbshift_winrm_password: {lookup('winrm_password')}",
        f"dbshift_rds_server: {json.dumps(info.rds_server)}",
        f"dbshift_rds_login: {json.dumps(info.rds_login)}",
        f"dbshift_rds_password: {lookup('rds_password')}",
        f"dbshift_rds_instance_identifier: {json.dumps(info.rds_instance_identifier)}",
        f"dbshift_rds_dbi_resource_id: {json.dumps(info.rds_dbi_resource_id)}",
        f"dbshift_ec2_server: {json.dumps(info.ec2_server)}",
        f"dbshift_postgres_dsn_file: {json.dumps(str(secrets_dir / 'postgres_dsn'))}",
        "# TDS listeners of the SQL Server emulator instances (rds, ec2 and the data migration sources src1, src2).",
        f"dbshift_tds_endpoints: {json.dumps(info.tds_endpoints, sort_keys=True)}",
        f"dbshift_source_login: {json.dumps(info.source_login)}",
        f"dbshift_source_password: {lookup('source_password')}",
    ]
    dsn_file = secrets_dir / "postgres_dsn"
    _write_atomic(dsn_file, info.postgres_dsn + "\n", mode=0o600)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, "\n".join(lines) + "\n")


def write_tfvars(info: EstateInfo, path: Path) -> None:
    _write_atomic(path, json.dumps({"aws_endpoint_url": info.aws_endpoint_url, "region": info.region}, indent=2) + "\n")


def _seed_aws(aws_url: str, rds_password: str) -> dict[str, str]:
    """The source RDS for SQL Server instance the runbooks migrate from (exists before Terraform runs)."""
    rds = client("rds", estate_aws_config(aws_url))
    try:
        db = rds.describe_db_instances(DBInstanceIdentifier=RDS_INSTANCE_ID)["DBInstances"][0]
    except rds.exceptions.DBInstanceNotFoundFault:
        db = rds.create_db_instance(
            DBInstanceIdentifier=RDS_INSTANCE_ID,
            Engine="sqlserver-se",
            EngineVersion="15.00.4365.2.v1",
            LicenseModel="license-included",
            DBInstanceClass="db.m5.xlarge",
            AllocatedStorage=100,
            MasterUsername=RDS_LOGIN,
            MasterUserPassword=rds_password,
            StorageEncrypted=True,
            BackupRetentionPeriod=7,
            PubliclyAccessible=False,
        )["DBInstance"]
    return {"address": db["Endpoint"]["Address"], "dbi_resource_id": db["DbiResourceId"]}


def estate_aws_config(aws_url: str) -> AwsConfig:
    return AwsConfig(
        region=REGION,
        endpoint_url=aws_url,
        access_key_id=AWS_KEYS["AWS_ACCESS_KEY_ID"],
        secret_access_key=AWS_KEYS["AWS_SECRET_ACCESS_KEY"],
    )


def _child_env() -> dict[str, str]:
    env = dict(os.environ, **AWS_KEYS)
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    env.setdefault("AWS_DEFAULT_REGION", REGION)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
