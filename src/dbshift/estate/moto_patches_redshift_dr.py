"""moto patches for Redshift cross-Region DR (snapshot copy to the destination Region, restore, AZ relocation).

Same rules as dbshift.estate.moto_patches: one function per gap, small and faithful to the AWS
documentation, each wrapping moto's own code and marked so that applying twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PATCHES: list[Callable[[], Any]] = []


def apply() -> None:
    for patch in PATCHES:
        patch()
