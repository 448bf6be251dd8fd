"""Security parity: the recovered resource must meet or exceed the source's settings.

A shortfall fails the run unless waived by its name (e.g. waive={"multi_az"}), so a weaker target is
always a decision someone wrote down, never an accident.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dbshift.errors import DbshiftError

# Names a user can waive, and what each one means.
CHECKS = {
    "storage_encrypted": "storage encryption on",
    "publicly_accessible": "not publicly accessible",
    "multi_az": "Multi-AZ at least as on the source",
    "deletion_protection": "deletion protection at least as on the source",
    "backup_retention": "backup retention at least the source's",
    "bucket_tls_only": "bucket policy denies requests without TLS (aws:SecureTransport false)",
    "bucket_public_access_block": "all four S3 Block Public Access settings on",
    "transit_encryption": "in-transit encryption (TLS) at least as on the source",
}


class ParityError(DbshiftError):
    """The target falls short of the source on settings nobody waived."""


@dataclass(frozen=True)
class Shortfall:
    name: str
    detail: str

    def __str__(self) -> str:
        return f"{self.name}: {self.detail}"


def instance_shortfalls(source: dict[str, Any], target: dict[str, Any]) -> list[Shortfall]:
    """Compare two DescribeDBInstances entries. The target must be encrypted and private whatever the source was."""
    out: list[Shortfall] = []
    tid = target.get("DBInstanceIdentifier", "target")
    if not target.get("StorageEncrypted"):
        out.append(Shortfall("storage_encrypted", f"{tid} is not encrypted at rest"))
    # AWS always reports PubliclyAccessible; a missing value is not proof of a private instance.
    if target.get("PubliclyAccessible") is not False:
        out.append(
            Shortfall("publicly_accessible", f"{tid} PubliclyAccessible is {target.get('PubliclyAccessible')!r}")
        )
    if source.get("MultiAZ") and not target.get("MultiAZ"):
        out.append(Shortfall("multi_az", f"source is Multi-AZ, {tid} is Single-AZ"))
    if source.get("DeletionProtection") and not target.get("DeletionProtection"):
        out.append(Shortfall("deletion_protection", f"source has deletion protection, {tid} has not"))
    src_days, tgt_days = int(source.get("BackupRetentionPeriod") or 0), int(target.get("BackupRetentionPeriod") or 0)
    if tgt_days < src_days or tgt_days == 0:
        out.append(Shortfall("backup_retention", f"{tid} keeps backups {tgt_days} days, source {src_days}"))
    return out


def _denies_insecure_transport(policy: dict[str, Any]) -> bool:
    for stmt in policy.get("Statement", []):
        if stmt.get("Effect") != "Deny":
            continue
        cond = stmt.get("Condition", {}).get("Bool", {})
        value = cond.get("aws:SecureTransport")
        values = value if isinstance(value, list) else [value]
        actions = stmt.get("Action")
        actions = actions if isinstance(actions, list) else [actions]
        if "false" in [str(v).lower() for v in values] and ("s3:*" in actions or "*" in actions):
            return True
    return False


def bucket_shortfalls(s3: Any, bucket: str) -> list[Shortfall]:
    """A dump/export bucket must deny plain HTTP and block all public access."""
    out: list[Shortfall] = []
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError:
        policy = {}
    if not _denies_insecure_transport(policy):
        out.append(Shortfall("bucket_tls_only", f"bucket {bucket} has no Deny on aws:SecureTransport=false for s3:*"))
    try:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except s3.exceptions.ClientError:
        block = {}
    names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    off = [n for n in names if not block.get(n)]
    if off:
        out.append(Shortfall("bucket_public_access_block", f"bucket {bucket}: {', '.join(off)} off"))
    return out


def check(shortfalls: list[Shortfall], waive: set[str] | frozenset[str] = frozenset()) -> list[Shortfall]:
    """Raise ParityError naming each unwaived shortfall and how to waive it; the waived ones otherwise."""
    unknown = set(waive) - set(CHECKS)
    if unknown:
        raise ParityError(f"unknown parity waiver(s) {sorted(unknown)}: known names are {sorted(CHECKS)}")
    open_ = [s for s in shortfalls if s.name not in waive]
    if open_:
        lines = "; ".join(str(s) for s in open_)
        names = ", ".join(sorted({s.name for s in open_}))
        raise ParityError(
            f"security parity: the target falls short of the source — {lines}. Fix the target settings, or waive "
            f"by name (parity_waive: [{names}]) if this is intended"
        )
    return [s for s in shortfalls if s.name in waive]
