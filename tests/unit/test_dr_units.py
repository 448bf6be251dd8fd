"""Pure parts of dbshift.dr: waiting, KMS error translation, parity decisions."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from dbshift.dr import kms_errors, parity
from dbshift.dr.waits import ResourceFailed, WaitTimeout, wait_until
from dbshift.errors import ConfigError


def test_wait_until_returns_when_done_after_polling():
    states = iter(["copying", "copying", "available"])
    seen = wait_until(lambda: next(states), lambda s: s == "available", lambda s: None, "snap x", 5, 0.01)
    assert seen == "available"


def test_wait_until_stops_on_failure_naming_resource_and_state():
    with pytest.raises(ResourceFailed, match=r"snapshot s1 in us-west-2 is 'failed' \(copy\)"):
        wait_until(lambda: "failed", lambda s: False, lambda s: f"{s!r} (copy)", "snapshot s1 in us-west-2", 5, 0.01)


def test_wait_until_times_out_with_last_state():
    with pytest.raises(WaitTimeout, match=r"db1 in us-west-2 is still 'creating' after 0.05 s"):
        wait_until(lambda: "creating", lambda s: False, lambda s: None, "db1 in us-west-2", 0.05, 0.01, state=str)


def test_key_in_another_region_is_refused_and_bare_ids_pass():
    with pytest.raises(ConfigError, match="is a key in eu-west-1, but the copy is made in us-west-2"):
        kms_errors.require_key_in_region("arn:aws:kms:eu-west-1:123456789012:key/abc", "us-west-2")
    kms_errors.require_key_in_region("arn:aws:kms:us-west-2:123456789012:key/abc", "us-west-2")
    kms_errors.require_key_in_region("alias/dr", "us-west-2")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("KMSKeyNotAccessibleFault", "Specified KMS key does not exist, is not enabled or you do not have permissions"),
        ("AccessDenied", "User is not authorized to perform kms:CreateGrant"),
        ("InvalidParameterValue", "The snapshot copy has failed"),
        ("InvalidParameterValue", "Invalid KMS key"),
    ],
)
def test_kms_failures_become_the_guides_checks(code, message):
    err = ClientError({"Error": {"Code": code, "Message": message}}, "CopyDBSnapshot")
    out = kms_errors.translate(err, "CopyDBSnapshot of s1", "arn:aws:kms:us-west-2:1:key/k", "us-west-2")
    assert isinstance(out, kms_errors.KmsProblem)
    text = str(out)
    assert "kms:CreateGrant" in text and "enabled" in text and "target Region us-west-2" in text


def test_other_errors_pass_through_untranslated():
    err = ClientError({"Error": {"Code": "DBSnapshotAlreadyExists", "Message": "exists"}}, "CopyDBSnapshot")
    assert kms_errors.translate(err, "copy", "k", "us-west-2") is err


def test_parity_shortfalls_and_waivers():
    source = {"MultiAZ": True, "DeletionProtection": True, "BackupRetentionPeriod": 7}
    target = {
        "DBInstanceIdentifier": "t",
        "StorageEncrypted": True,
        "PubliclyAccessible": False,
        "MultiAZ": True,
        "DeletionProtection": False,
        "BackupRetentionPeriod": 1,
    }
    names = {s.name for s in parity.instance_shortfalls(source, target)}
    assert names == {"deletion_protection", "backup_retention"}
    with pytest.raises(parity.ParityError, match="unknown parity waiver"):
        parity.check([], waive={"encryption"})
    good = {**target, "DeletionProtection": True, "BackupRetentionPeriod": 7}
    assert parity.instance_shortfalls(source, good) == []
