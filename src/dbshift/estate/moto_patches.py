"""Patches for gaps in moto's server mode that dbshift's runbooks or Terraform depend on.

One function per gap, each naming the behaviour it corrects; apply() installs them all. Every
patch wraps moto's own method and marks the wrapper, so applying twice changes nothing.
"""

from __future__ import annotations

import functools
import json
import secrets
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

_MARK = "_dbshift_patched"

# KMS accepts automatic-rotation periods from 90 to 2560 days; 365 when none is given.
KMS_ROTATION_PERIOD_DEFAULT_DAYS = 365
KMS_ROTATION_PERIOD_MIN_DAYS = 90
KMS_ROTATION_PERIOD_MAX_DAYS = 2560

# SQL Server 2022 (16.00) is an RDS major version; moto's option-group check stops at 15.00.
SQLSERVER_ENGINES = ("sqlserver-ee", "sqlserver-se", "sqlserver-ex", "sqlserver-web")
SQLSERVER_MAJOR_VERSIONS_MISSING_IN_MOTO = ("16.00",)

_RESOURCE_ID_ALPHABET = string.ascii_uppercase + string.digits


def _is_patched(fn: Callable[..., Any]) -> bool:
    return getattr(fn, _MARK, False)


def _mark(fn: Callable[..., Any]) -> Callable[..., Any]:
    setattr(fn, _MARK, True)
    return fn


def new_dbi_resource_id() -> str:
    """An RDS-shaped DbiResourceId: "db-" and 26 upper-case letters or digits."""
    return "db-" + "".join(secrets.choice(_RESOURCE_ID_ALPHABET) for _ in range(26))


def patch_rds_unique_dbi_resource_id() -> None:
    """moto gives every DB instance the same DbiResourceId ("db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U").

    RDS gives each instance its own, fixed for the instance's life (a rename keeps it; a restore
    or replica is a new instance with a new id). RDS writes it into S3 key names of transaction
    log copies, so two emulated instances must not share one.
    """
    from moto.rds.models import DBInstance

    original = DBInstance.__init__
    if _is_patched(original):
        return

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.dbi_resource_id = new_dbi_resource_id()

    DBInstance.__init__ = _mark(__init__)  # type: ignore[method-assign]


def patch_kms_rotation_period() -> None:
    """moto ignores EnableKeyRotation's RotationPeriodInDays and GetKeyRotationStatus omits it.

    The AWS provider sends rotation_period_in_days and waits until GetKeyRotationStatus reports
    the same period; without it every plan shows `rotation_period_in_days = 0 -> 365`. This
    stores the period (validated like KMS: 90-2560, default 365) and returns it together with
    NextRotationDate while rotation is enabled.
    """
    from moto.kms.exceptions import ValidationException
    from moto.kms.responses import KmsResponse

    original_enable = KmsResponse.enable_key_rotation
    original_status = KmsResponse.get_key_rotation_status
    if _is_patched(original_enable):
        return

    @functools.wraps(original_enable)
    def enable_key_rotation(self: Any) -> str:
        period = self._get_param("RotationPeriodInDays")
        if period is None:
            period = KMS_ROTATION_PERIOD_DEFAULT_DAYS
        if not isinstance(period, int) or not KMS_ROTATION_PERIOD_MIN_DAYS <= period <= KMS_ROTATION_PERIOD_MAX_DAYS:
            raise ValidationException(
                f"1 validation error detected: Value '{period}' at 'rotationPeriodInDays' failed to satisfy "
                f"constraint: Member must have value between {KMS_ROTATION_PERIOD_MIN_DAYS} and "
                f"{KMS_ROTATION_PERIOD_MAX_DAYS}"
            )
        result = original_enable(self)
        key = self.kms_backend.keys[self.kms_backend.get_key_id(self._get_param("KeyId"))]
        key.rotation_period_in_days = period
        key.rotation_enabled_at = datetime.now(UTC)
        return result

    @functools.wraps(original_status)
    def get_key_rotation_status(self: Any) -> str:
        body = json.loads(original_status(self))
        key = self.kms_backend.keys[self.kms_backend.get_key_id(self._get_param("KeyId"))]
        if body.get("KeyRotationEnabled"):
            period = getattr(key, "rotation_period_in_days", KMS_ROTATION_PERIOD_DEFAULT_DAYS)
            enabled_at = getattr(key, "rotation_enabled_at", datetime.now(UTC))
            body["KeyId"] = key.id
            body["RotationPeriodInDays"] = period
            body["NextRotationDate"] = (enabled_at + timedelta(days=period)).timestamp()
        return json.dumps(body)

    KmsResponse.enable_key_rotation = _mark(enable_key_rotation)  # type: ignore[method-assign]
    KmsResponse.get_key_rotation_status = _mark(get_key_rotation_status)  # type: ignore[method-assign]


def patch_rds_sqlserver_2022_option_groups() -> None:
    """moto rejects CreateOptionGroup for SQL Server 2022 (major version 16.00).

    RDS supports 16.00 for every SQL Server edition; moto's hard-coded list ends at 15.00 and
    answers "Cannot find major version 16.00 for sqlserver-se". This lets 16.00 through and
    leaves every other engine/version check as moto has it.
    """
    from moto.rds.models import RDSBackend

    original = RDSBackend.create_option_group
    if _is_patched(original):
        return

    @functools.wraps(original)
    def create_option_group(self: Any, option_group_kwargs: dict[str, Any]) -> Any:
        version = option_group_kwargs.get("major_engine_version")
        if (
            option_group_kwargs.get("engine_name") in SQLSERVER_ENGINES
            and version in SQLSERVER_MAJOR_VERSIONS_MISSING_IN_MOTO
        ):
            # Pass moto's version check with a version it knows, then record the real one.
            option_group = original(self, {**option_group_kwargs, "major_engine_version": "15.00"})
            option_group.major_engine_version = version
            return option_group
        return original(self, option_group_kwargs)

    RDSBackend.create_option_group = _mark(create_option_group)  # type: ignore[method-assign]


_PATCHES: tuple[Callable[[], None], ...] = (
    patch_rds_unique_dbi_resource_id,
    patch_kms_rotation_period,
    patch_rds_sqlserver_2022_option_groups,
)


def apply() -> None:
    """Install every patch. Idempotent."""
    for patch in _PATCHES:
        patch()
