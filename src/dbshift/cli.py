"""The `dbshift` command line. Errors become one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from dbshift.errors import DbshiftError


def _estate(args: argparse.Namespace):
    from dbshift.estate.manager import Estate

    root = Path(args.root)
    return Estate(root, config_dir=Path.cwd() if not args.no_config else None)


def cmd_estate(args: argparse.Namespace) -> int:
    estate = _estate(args)
    if args.action == "up":
        already = estate.status().get("running", False)
        info = estate.info() if already else estate.up()
        if already:
            estate.up()  # refreshes inventory/tfvars; starts nothing
        print("estate already running" if already else "estate started", f"({info.root})")
        for key, value in info.public().items():
            print(f"  {key:24} {value}")
        return 0
    if args.action == "seed-migration":
        return _seed_migration(estate, args)
    if args.action == "down":
        stopped = estate.down()
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        return 0
    status = estate.status()
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        print("running" if status["running"] else "not running", f"({status['root']})")
        for name, alive in status.get("processes", {}).items():
            print(f"  {name:10} {'alive' if alive else 'DEAD'}")
    return 0 if status["running"] else 3


def _seed_migration(estate, args: argparse.Namespace) -> int:
    """Refill the data migration's sources (SRC1/SRC2 x NetPerf01/NetPerf02) with --rows rows per table."""
    import time

    from dbshift.estate.seed import seed_sources

    t0 = time.monotonic()
    tables = seed_sources(estate.info(), rows_per_table=args.rows, days=args.days, start_date=args.start_date)
    secs = time.monotonic() - t0
    total = sum(t.rows for t in tables)
    for t in tables:
        print(
            f"  {t.server:5} {t.database:10} {t.table:28} {t.rows:>12,} {'generated' if t.generated else 'unchanged'}"
        )
    print(f"{total:,} rows in {secs:.1f}s ({total / max(secs, 1e-9):,.0f} rows/s)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from dbshift.demo import run_demo

    return run_demo(Path(args.root), keep=args.keep)


def cmd_tlog_fetch(args: argparse.Namespace) -> int:
    from dbshift.fallforward.tlog_fetch import fetch_tlogs

    logs = fetch_tlogs(
        args.s3_prefix,
        args.start_seq,
        args.end_seq,
        Path(args.dest),
        parallel=args.parallel,
        kms_key_id=args.kms_key,
        progress=None if args.quiet else sys.stderr,
        seqs=args.seqs,
    )
    # stdout is for scripts: exactly one path per line, in apply order
    sys.stdout.write("".join(f"{log.path}\n" for log in logs))
    return 0


def cmd_tde_password(args: argparse.Namespace) -> int:
    from dbshift.fallforward.tde_password import write_tde_password

    out = write_tde_password(args.pvk_s3_url, args.kms_key, Path(args.out))
    print(f"wrote the TDE private-key password to {out} (mode 0600)", file=sys.stderr)
    return 0


def cmd_s3_get(args: argparse.Namespace) -> int:
    from dbshift.fallforward.s3_get import get_object

    print(get_object(args.s3_url, Path(args.dest), kms_key_id=args.kms_key))
    return 0


def _seq_list(text: str) -> list[int]:
    from dbshift.fallforward.tlog_fetch import parse_seqs  # at parse time: --help stays free of AWS imports

    try:
        return parse_seqs(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    n = _nonnegative(text)
    if n == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _nonnegative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr (scripts read the last line), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dbshift", description="SQL Server migrations on AWS as code")
    sub = parser.add_subparsers(dest="command", required=True)

    est = sub.add_parser("estate", help="the emulated estate (moto, PostgreSQL, WinRM + SQL Server emulator)")
    est.add_argument("action", choices=["up", "down", "status", "seed-migration"])
    est.add_argument("--root", default=".estate", help="state directory (default: .estate)")
    est.add_argument("--no-config", action="store_true", help="do not write inventories/local and tfvars")
    est.add_argument("--json", action="store_true", help="status as JSON")
    est.add_argument(
        "--rows", type=_positive, default=2000, help="seed-migration: rows per table per database (default 2000)"
    )
    est.add_argument("--days", type=_positive, default=2, help="seed-migration: days of 15-minute slots (default 2)")
    est.add_argument("--start-date", default="2026-11-01", help="seed-migration: first day (default 2026-11-01)")
    est.set_defaults(func=cmd_estate)

    demo = sub.add_parser("demo", help="estate up → terraform apply → smoke playbook → summary → estate down")
    demo.add_argument("--root", default=".estate")
    demo.add_argument("--keep", action="store_true", help="leave the estate running afterwards")
    demo.set_defaults(func=cmd_demo)

    tlog = sub.add_parser("tlog", help="transaction-log backups RDS copied to S3")
    tlog_sub = tlog.add_subparsers(dest="tlog_command", required=True)
    fetch = tlog_sub.add_parser(
        "fetch",
        help="download + decrypt log copies in a seq range or list; prints the files in apply order",
        description="Writes DEST/<object file name>.out for every log copy with seq in the range (which must "
        "have no hole) or in the --seqs list (each must have a copy; others are ignored) and prints one path "
        "per line in apply (seq) order. Re-entrant: files already fetched and verified are kept. "
        "Progress goes to stderr.",
    )
    fetch.add_argument("s3_prefix", metavar="s3://BUCKET/PREFIX/", help="where rds_tlog_backup_copy_to_S3 wrote them")
    which = fetch.add_mutually_exclusive_group(required=True)
    which.add_argument("--start-seq", type=_nonnegative, help="first rds_backup_seq_id")
    which.add_argument(
        "--seqs",
        type=_seq_list,
        metavar="LIST",
        help="exactly these rds_backup_seq_ids, e.g. 5-9,12,14-20 (holes allowed: RDS may number per instance)",
    )
    fetch.add_argument(
        "--end-seq", type=_nonnegative, help="with --start-seq: last rds_backup_seq_id (default: the newest)"
    )
    fetch.add_argument("--dest", required=True, help="directory for the .out files")
    fetch.add_argument("--parallel", type=int, default=4, help="objects fetched at once (default 4)")
    fetch.add_argument("--kms-key", help="KMS key ARN expected (default: the one in each object's metadata)")
    fetch.add_argument("--quiet", action="store_true", help="no progress on stderr")
    fetch.set_defaults(func=cmd_tlog_fetch)

    tde = sub.add_parser(
        "tde-password",
        help="write the password of an RDS TDE certificate backup's private key to a 0600 file",
        description="KMS-decrypts the .pvk object's rds-tde-pwd metadata and writes base64 of the plaintext (what "
        "DECRYPTION BY PASSWORD takes) to FILE, mode 0600. Prints nothing secret.",
    )
    tde.add_argument("pvk_s3_url", metavar="s3://BUCKET/KEY.pvk")
    tde.add_argument("--kms-key", required=True, metavar="ARN", help="@kms_password_key_arn of the backup")
    tde.add_argument("--out", required=True, metavar="FILE")
    tde.set_defaults(func=cmd_tde_password)

    from dbshift.datamove.command import add_parser as add_migrate

    add_migrate(sub)

    from dbshift.convert.command import add_parser as add_convert

    add_convert(sub)

    s3 = sub.add_parser("s3", help="S3 objects (envelope-encrypted ones are decrypted on the way)")
    s3_sub = s3.add_subparsers(dest="s3_command", required=True)
    get = s3_sub.add_parser("get", help="download one object into a directory; prints the written path")
    get.add_argument("s3_url", metavar="s3://BUCKET/KEY")
    get.add_argument("--dest", required=True, metavar="DIR")
    get.add_argument("--kms-key", help="KMS key ARN expected for an encrypted object")
    get.set_defaults(func=cmd_s3_get)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DbshiftError as exc:
        print(f"dbshift: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
