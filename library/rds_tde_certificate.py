#!/usr/bin/python
"""Ansible module rds_tde_certificate: a thin adapter over dbshift.fallforward.certificate."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rds_tde_certificate
short_description: Copy the TDE certificate of an RDS for SQL Server database to the EC2 target
description:
  - For a database encrypted with TDE on the RDS source, makes its certificate exist on the EC2 target
    so that the target can restore the database's backups.
  - Finds the certificate (C(sys.dm_database_encryption_keys) joined to C(sys.certificates)), backs it
    up with C(msdb.dbo.rds_backup_tde_certificate) under O(certificate_s3_prefix) using the customer-managed
    key O(kms_key_arn), reads C(rds-tde-pwd) from the C(.pvk) object's metadata and KMS-decrypts it on the
    controller, gets the C(.cer)/C(.pvk) onto the EC2 host under O(host_dir), and runs C(CREATE CERTIFICATE
    ... FROM FILE ... WITH PRIVATE KEY (... DECRYPTION BY PASSWORD ...)) in the target's C(master).
  - The private-key password is never printed, logged, returned or written to disk in the clear; it goes to
    SQL Server over the WinRM connection's stdin.
  - Idempotent. Nothing happens (C(changed=false)) when the database is not encrypted
    (RV(action=not-tde)) or the target already has a certificate with the same thumbprint
    (RV(action=present)).
  - The work is done by the dbshift library (C(dbshift.fallforward.certificate.ensure_tde_certificate)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - dbshift
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads both instances and reports C(changed=true) when the certificate would be imported; starts no
        RDS task, writes nothing to S3, the host or the target.
  diff_mode:
    support: full
    details:
      - The target's certificate before (absent) and after (name and thumbprint) an import.
  platform:
    platforms: posix
options:
  source_database:
    description:
      - The database on the RDS source whose TDE certificate the target needs.
    type: str
    required: true
  certificate_s3_prefix:
    description:
      - Where RDS writes the C(.cer) and C(.pvk) files, as C(s3://BUCKET/PREFIX/). The instance's
        TDE option role must be allowed to write there.
    type: str
    required: true
  kms_key_arn:
    description:
      - ARN of the customer-managed KMS key RDS protects the private-key password with
        (C(@kms_password_key_arn)). The controller needs C(kms:Decrypt) on it.
    type: str
    required: true
  host_dir:
    description:
      - Directory on the EC2 host for the certificate files, for example C(D:\dbshift\certificates).
    type: str
    required: true
  master_key_password:
    description:
      - Password for a database master key in the target's C(master), created only when the target has
        none (SQL Server needs one to hold a certificate's private key). Never logged or returned.
    type: str
  task_timeout:
    description:
      - Seconds to wait for the RDS certificate backup task before failing.
    type: int
    default: 3600
  poll_interval:
    description:
      - Seconds between two reads of C(msdb.dbo.rds_task_status).
    type: float
    default: 5.0
seealso:
  - name: Support for TDE in SQL Server (RDS User Guide)
    description: Backing up and restoring TDE certificates for on-premises databases.
    link: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.SQLServer.Options.TDE.html
"""

EXAMPLES = r"""
- name: Make PayrollDb's TDE certificate exist on the EC2 target
  rds_tde_certificate:
    winrm_endpoint: "{{ dbshift_winrm_endpoint }}"
    winrm_username: "{{ dbshift_winrm_username }}"
    winrm_password: "{{ dbshift_winrm_password }}"
    source_server: "{{ dbshift_rds_server }}"
    source_login: "{{ dbshift_rds_login }}"
    source_password: "{{ dbshift_rds_password }}"
    target_server: "{{ dbshift_ec2_server }}"
    source_database: PayrollDb
    certificate_s3_prefix: s3://payroll-fall-forward-certs/certificates/
    kms_key_arn: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    host_dir: D:\dbshift\certificates
    master_key_password: "{{ vault_target_master_key_password }}"
  register: payroll_certificate
"""

RETURN = r"""
tde:
  description: Whether the source database is encrypted with TDE.
  returned: always
  type: bool
  sample: true
action:
  description:
    - What happened. V(not-tde) the database is not encrypted; V(present) the target already has the
      certificate; V(imported) it was (or, in check mode, would be) created on the target.
  returned: always
  type: str
  sample: imported
certificate_name:
  description: The certificate's name on the source (and the target); null for a database without TDE.
  returned: always
  type: str
  sample: RDSTDECertificate20261101T120000
thumbprint:
  description: The certificate's thumbprint as hex; null for a database without TDE.
  returned: always
  type: str
  sample: "0x5C1E7E0F3A8B9D2C4E6F8A0B1C3D5E7F9A1B3C5D"
"""

from ansible.module_utils.dbshift_import import DbshiftImport  # noqa: E402

DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.ansible_support import WAIT_ARGUMENT_SPEC, argument_spec, check_positive, run_step
    from dbshift.fallforward.certificate import ensure_tde_certificate

    ARGUMENT_SPEC = argument_spec(
        WAIT_ARGUMENT_SPEC,
        source_database={"type": "str", "required": True},
        certificate_s3_prefix={"type": "str", "required": True},
        kms_key_arn={"type": "str", "required": True},
        host_dir={"type": "str", "required": True},
        master_key_password={"type": "str", "no_log": True},
    )


def main() -> None:
    module = DBSHIFT.module(lambda: ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    check_positive(module, task_timeout=p["task_timeout"], poll_interval=p["poll_interval"])
    run_step(
        module,
        f"TDE certificate of {p['source_database']}",
        lambda ep: ensure_tde_certificate(
            ep,
            p["source_database"],
            p["certificate_s3_prefix"],
            p["kms_key_arn"],
            p["host_dir"],
            master_key_password=p["master_key_password"],
            task_timeout=p["task_timeout"],
            poll_interval=p["poll_interval"],
            check_mode=module.check_mode,
        ),
        diff=lambda _before, r: {
            "before": {"target_certificate": None},
            "after": {"target_certificate": {"name": r.certificate_name, "thumbprint": r.thumbprint}},
        },
    )


if __name__ == "__main__":
    main()
