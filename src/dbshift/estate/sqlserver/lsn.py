"""Log sequence numbers shaped like SQL Server's decimal(25,0) LSNs.

An LSN is VLF sequence * 10^15 + log block * 10^5 + slot. The emulator starts a database's log at
VLF 37 (like a fresh SQL Server 2019 database), gives every statement its own block and every log
record in it its own slot, and moves to the next VLF when the block number gets large.
"""

from __future__ import annotations

FIRST_LSN = 37 * 10**15 + 16 * 10**5 + 1
_BLOCK_STEP = 8
_MAX_BLOCK = 9_999_000


def make_lsn(vlf: int, block: int, slot: int) -> int:
    return vlf * 10**15 + block * 10**5 + slot


def split_lsn(lsn: int) -> tuple[int, int, int]:
    return lsn // 10**15, (lsn // 10**5) % 10**10, lsn % 10**5


def next_slot(lsn: int) -> int:
    vlf, block, slot = split_lsn(lsn)
    return make_lsn(vlf, block, slot + 1) if slot < 99_999 else next_block(lsn)


def next_block(lsn: int) -> int:
    vlf, block, _ = split_lsn(lsn)
    block += _BLOCK_STEP
    if block > _MAX_BLOCK:
        return make_lsn(vlf + 1, 16, 1)
    return make_lsn(vlf, block, 1)
