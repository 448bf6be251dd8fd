"""The `dbshift` command line. Errors become one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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


def cmd_demo(args: argparse.Namespace) -> int:
    from dbshift.demo import run_demo

    return run_demo(Path(args.root), keep=args.keep)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dbshift", description="SQL Server migrations on AWS as code")
    sub = parser.add_subparsers(dest="command", required=True)

    est = sub.add_parser("estate", help="the emulated estate (moto, PostgreSQL, WinRM + SQL Server emulator)")
    est.add_argument("action", choices=["up", "down", "status"])
    est.add_argument("--root", default=".estate", help="state directory (default: .estate)")
    est.add_argument("--no-config", action="store_true", help="do not write inventories/local and tfvars")
    est.add_argument("--json", action="store_true", help="status as JSON")
    est.set_defaults(func=cmd_estate)

    demo = sub.add_parser("demo", help="estate up → terraform apply → smoke playbook → summary → estate down")
    demo.add_argument("--root", default=".estate")
    demo.add_argument("--keep", action="store_true", help="leave the estate running afterwards")
    demo.set_defaults(func=cmd_demo)
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
