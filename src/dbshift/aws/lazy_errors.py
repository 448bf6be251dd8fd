"""botocore's exception classes for `except` clauses, without importing botocore.

`except client_error() as exc:` is evaluated only when an exception passes by. If botocore has not
been imported, nothing can have raised its exceptions, and the clause matches nothing; the REST
path (dbshift.aws.rest) imports botocore.exceptions just before it raises one.
"""

from __future__ import annotations

import sys


class _NeverRaised(Exception):
    """Matches nothing: stands for a botocore class while botocore is not loaded."""


def client_error() -> type[Exception]:
    mod = sys.modules.get("botocore.exceptions")
    return mod.ClientError if mod is not None else _NeverRaised


def botocore_error() -> type[Exception]:
    mod = sys.modules.get("botocore.exceptions")
    return mod.BotoCoreError if mod is not None else _NeverRaised
