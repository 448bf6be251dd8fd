"""Run moto in server mode on 127.0.0.1 with dbshift's patches: `python -m dbshift.estate.aws_server`."""

from __future__ import annotations

import argparse
import os


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="moto server with dbshift's patches (the emulated AWS)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    # Fixed fake credentials: the server never checks them, but boto3 inside patches may sign.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    from dbshift.estate import moto_patches

    moto_patches.apply()

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    # The server thread is a daemon: block here until killed.
    server._thread.join()


if __name__ == "__main__":
    main()
