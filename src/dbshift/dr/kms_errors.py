"""KMS failures of cross-region RDS operations, turned into the checks that fix them.

Wording follows the RDS User Guide: "Copying a DB snapshot" (a cross-Region copy of an encrypted
snapshot needs a KMS key of the destination Region; keys are Region-specific) and "AWS KMS key
management" (to create an RDS resource with a customer managed key the caller needs kms:CreateGrant
and kms:DescribeKey on it, in the key policy or in an IAM policy the key policy allows; a disabled key
makes RDS operations fail).
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dbshift.errors import ConfigError, DbshiftError

_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<kind>key|alias)/(?P<id>.+)$")

# Error codes and message fragments AWS uses when RDS cannot use a KMS key.
KMS_CODES = ("KMSKeyNotAccessibleFault", "KMSKeyNotAccessible", "InvalidKMSKey", "KMSAccessDeniedException")
KMS_MESSAGES = ("not authorized", "snapshot copy has failed", "invalid kms key", "kms key", "kms:")


class KmsProblem(DbshiftError):
    """RDS could not use a KMS key; the message lists the checks to make."""


def key_region(key: str) -> str | None:
    """The Region in a KMS key or alias ARN; None for a bare key id or alias name."""
    match = _KEY_ARN.match(key)
    return match.group("region") if match else None


def require_key_in_region(key: str, region: str, what: str = "kms_key_arn") -> None:
    """Refuse a key ARN of another Region before anything is created: RDS keys are Region-specific."""
    found = key_region(key)
    if found is not None and found != region:
        raise ConfigError(
            f"{what} {key} is a key in {found}, but the copy is made in {region}: KMS keys are specific to the "
            f"Region they are created in. Create (or replicate a multi-Region key) in {region} and pass that "
            f"key's ARN, e.g. the dr_target module's kms_key_arn for {region}"
        )


def checks(key: str, region: str, findings: list[str] | None = None) -> str:
    """The numbered checks for `key` in `region`, with whatever was found out about it first."""
    lines = [
        f"1. the key is in the target Region {region} (KMS keys are Region-specific): {key}",
        "2. the key is enabled (aws kms describe-key → KeyState Enabled; a disabled or pending-deletion key fails "
        "every copy and restore)",
        "3. the key policy (or an IAM policy the key policy allows) grants the caller kms:CreateGrant and "
        f"kms:DescribeKey, ideally with kms:ViaService = rds.{region}.amazonaws.com so RDS can create its grant",
        "4. for an encrypted source, the caller may also use the source snapshot's key in the source Region "
        "(kms:CreateGrant, kms:DescribeKey)",
    ]
    found = "".join(f"\n   found: {f}" for f in findings or [])
    return "\n".join(lines) + found


def is_kms_error(error: BaseException) -> bool:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = str(error.response.get("Error", {}).get("Message", "")).lower()
        return code in KMS_CODES or any(m in message for m in KMS_MESSAGES)
    return any(m in str(error).lower() for m in KMS_MESSAGES)


def inspect_key(kms: Any, key: str, region: str) -> list[str]:
    """What KMS says about `key` (exists? enabled? which Region?), as findings; never raises."""
    findings: list[str] = []
    wrong = key_region(key)
    if wrong is not None and wrong != region:
        findings.append(f"the key ARN names Region {wrong}, not {region}")
        return findings
    try:
        meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    except (ClientError, BotoCoreError) as exc:
        findings.append(f"DescribeKey on {key} in {region} failed: {exc}")
        return findings
    if meta.get("KeyState") != "Enabled":
        findings.append(f"key {meta.get('Arn')} is {meta.get('KeyState')}, not Enabled")
    if meta.get("KeyUsage") not in (None, "ENCRYPT_DECRYPT") or meta.get("KeySpec") not in (None, "SYMMETRIC_DEFAULT"):
        findings.append(
            f"key {meta.get('Arn')} is {meta.get('KeySpec')}/{meta.get('KeyUsage')}: RDS needs a symmetric "
            "ENCRYPT_DECRYPT key"
        )
    return findings


def translate(error: BaseException, action: str, key: str, region: str, kms: Any | None = None) -> BaseException:
    """A KmsProblem naming `action` and the checks when `error` is a KMS failure; else `error` itself."""
    if not is_kms_error(error):
        return error
    findings = inspect_key(kms, key, region) if kms is not None else []
    return KmsProblem(f"{action} could not use KMS key {key} ({error}). Check:\n{checks(key, region, findings)}")
