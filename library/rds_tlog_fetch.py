#!/usr/bin/python
"""Ansible module rds_tlog_fetch: a thin adapter over dbshift.fallforward.sync.tlog_fetch."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rds_tlog_fetch
short_description: Download and decrypt RDS log backup copies onto the EC2 host
description:
  - Runs C(dbshift tlog fetch) on the EC2 host (over WinRM), which lists the log copies under O(s3_prefix)
    (all pages), keeps exactly the seq ids in O(seqs) (or those from O(start_seq) to O(end_seq)), and
    streams each object through AES-CBC while downloading, several at a time, into O(host_dir), renaming
    a file only after its padding check passes. Files already decrypted and verified are not fetched again.
  - With O(seqs), a listed seq id with no copy fails the module before anything is downloaded; copies
    with other seq ids are ignored. Give it the list RV(rds_tlog_copy#module:seqs) returns. RDS may number
    log backups per instance, so one database's seq ids can have holes, which a range refuses as a gap.
  - The data keys are decrypted by KMS with the encryption context RDS used; a wrong key or context,
    missing metadata, bad padding or a truncated object fails the module with no partial file left.
  - Returns the decrypted files in apply order for M(mssql_restore_log).
  - The work is done by the dbshift library (C(dbshift.fallforward.sync.tlog_fetch)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - dbshift
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reports C(changed=true) when files would be fetched; downloads nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  s3_prefix:
    description:
      - Where this database's log copies are (RV(rds_tlog_copy#module:s3_prefix)).
    type: str
    required: true
  seqs:
    description:
      - The seq ids to fetch, exactly (RV(rds_tlog_copy#module:seqs)). An empty list fetches nothing.
      - Give either O(seqs) or O(start_seq).
    type: list
    elements: int
  start_seq:
    description:
      - The first seq id of a range to fetch; every seq id in the range must have a copy.
      - Give either O(start_seq) or O(seqs).
    type: int
  end_seq:
    description:
      - The last seq id of the range, only with O(start_seq). When omitted, every copy from O(start_seq) on.
    type: int
  host_dir:
    description:
      - Directory on the EC2 host for the decrypted logs, for example C(D:\dbshift\SalesDb_ff\tlogs).
    type: str
    required: true
  parallel:
    description:
      - Objects downloaded and decrypted at the same time.
    type: int
    default: 4
seealso:
  - module: rds_tlog_copy
  - module: mssql_restore_log
"""

EXAMPLES = r"""
- name: Fetch what rds_tlog_copy copied
  rds_tlog_fetch:
    winrm_endpoint: "{{ dbshift_winrm_endpoint }}"
    winrm_username: "{{ dbshift_winrm_username }}"
    winrm_password: "{{ dbshift_winrm_password }}"
    source_server: "{{ dbshift_rds_server }}"
    source_login: "{{ dbshift_rds_login }}"
    source_password: "{{ dbshift_rds_password }}"
    target_server: "{{ dbshift_ec2_server }}"
    s3_prefix: "{{ sales_copy.s3_prefix }}"
    seqs: "{{ sales_copy.seqs }}"
    host_dir: D:\dbshift\SalesDb_ff\tlogs
  register: sales_fetch
  when: sales_copy.logs | length > 0
"""

RETURN = r"""
files:
  description: The decrypted log backups on the EC2 host, in apply order.
  returned: always
  type: list
  elements: str
  sample: ['D:\dbshift\SalesDb_ff\tlogs\db-ABCDEFGHIJKL.0a1b2c3d.12.2026-11-20-10-05-00.trn.out']
"""

from ansible.module_utils.dbshift_import import DbshiftImport  # noqa: E402

DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.ansible_support import argument_spec, check_positive, run_step
    from dbshift.fallforward.sync import tlog_fetch
    from dbshift.fallforward.tlog_fetch import format_seqs

    ARGUMENT_SPEC = argument_spec(
        s3_prefix={"type": "str", "required": True},
        seqs={"type": "list", "elements": "int"},
        start_seq={"type": "int"},
        end_seq={"type": "int"},
        host_dir={"type": "str", "required": True},
        parallel={"type": "int", "default": 4},
    )


def main() -> None:
    module = DBSHIFT.module(
        lambda: ARGUMENT_SPEC,
        supports_check_mode=True,
        required_one_of=[("seqs", "start_seq")],
        mutually_exclusive=[("seqs", "start_seq")],
        required_by={"end_seq": "start_seq"},
    )
    p = module.params
    check_positive(module, parallel=p["parallel"])
    if p["end_seq"] is not None and p["end_seq"] < p["start_seq"]:
        module.fail_json(
            msg=f"end_seq ({p['end_seq']}) is before start_seq ({p['start_seq']}); fix the range or omit end_seq."
        )
    which = format_seqs(p["seqs"]) if p["seqs"] is not None else f"{p['start_seq']}..{p['end_seq'] or ''}"
    run_step(
        module,
        f"fetch of log backups {which} from {p['s3_prefix']}",
        lambda ep: tlog_fetch(
            ep,
            p["s3_prefix"],
            p["start_seq"],
            p["end_seq"],
            p["host_dir"],
            parallel=p["parallel"],
            check_mode=module.check_mode,
            seqs=p["seqs"],
        ),
    )


if __name__ == "__main__":
    main()
