#!/usr/bin/python
"""Ansible module schema_assessment: a thin adapter over dbshift.convert.assessment."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: schema_assessment
short_description: Convert a T-SQL schema to PostgreSQL, verify every object, report, and apply on request
description:
  - Reads O(source) (a T-SQL script file, a folder of scripts or an SSDT project folder), converts every object to
    PostgreSQL, executes each converted object on O(verify_dsn) (in a scratch database that is dropped afterwards)
    and writes to O(out_dir) one file per object in dependency order, C(deploy.sql), C(report.json) and the
    self-contained C(report.html).
  - O(out_dir) is replaced (by renames, never half-written) only when the converted objects differ from what it
    holds; otherwise it is left as it is and the module reports C(changed=false).
  - With O(apply=true) the objects that converted and were not applied before are applied to O(target_dsn) in
    dependency order in one transaction (any failure rolls all of it back, naming the object), and recorded in the
    target (C(dbshift_schema.applied_objects)) so that no object is applied twice. An object applied before with
    another definition is refused, never dropped or replaced. Objects that need work are never applied.
  - The work is done by the dbshift library (C(dbshift.convert)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Converts and verifies (in a scratch database that is dropped again) and reports whether O(out_dir) would
        change and whether the schema would be applied; writes no file and applies nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  source:
    description:
      - A T-SQL script file, a folder of them, or an SSDT project folder, on the controller.
    type: str
    required: true
  out_dir:
    description:
      - Folder receiving the converted objects, C(deploy.sql), C(report.json) and C(report.html).
    type: path
    required: true
  database:
    description:
      - Name of the source database in the report; taken from the scripts' C(USE) or the folder name when omitted.
    type: str
  verify_dsn:
    description:
      - libpq connection string of a PostgreSQL server on which every converted object is executed (in a scratch
        database). Without it objects are reported C(converted-unverified). Never logged or returned.
    type: str
  report_path:
    description:
      - Also keep a copy of the HTML report at this path (refreshed when the output changes).
    type: path
  apply:
    description:
      - Apply the converted objects to O(target_dsn). Off by default - the assessment changes no database.
    type: bool
    default: false
  target_dsn:
    description:
      - libpq connection string of the target database, for O(apply). Never logged or returned.
    type: str
  strict:
    description:
      - Fail (after writing the report) when any schema object needs work.
    type: bool
    default: false
notes:
  - Runs on the controller with the Python environment that has dbshift installed.
requirements:
  - python >= 3.11 on the controller, with the dbshift package installed
"""

EXAMPLES = r"""
- name: Assess the Sales schema scripts, verified on a scratch PostgreSQL
  schema_assessment:
    source: /srv/schemas/Sales
    out_dir: /srv/assessments/Sales
    verify_dsn: "{{ assessment_pg_dsn }}"
    report_path: /srv/share/sales-assessment.html
  register: assessment

- name: Apply the converted schema to the target (asked for explicitly)
  schema_assessment:
    source: /srv/schemas/Sales
    out_dir: /srv/assessments/Sales
    verify_dsn: "{{ assessment_pg_dsn }}"
    apply: true
    target_dsn: "{{ target_pg_dsn }}"
"""

RETURN = r"""
changed:
  description: Whether O(out_dir) (or the report copy) was rewritten or the schema applied.
  returned: always
  type: bool
  sample: true
out_dir:
  description: The output folder.
  returned: success
  type: str
  sample: /srv/assessments/Sales
report_html:
  description: Path of the HTML report.
  returned: success
  type: str
  sample: /srv/assessments/Sales/report.html
objects:
  description: Number of schema objects (tables, constraints, indexes, views, routines, ...), the rate's base.
  returned: success
  type: int
  sample: 366
rate:
  description: Verified schema objects / schema objects.
  returned: success
  type: float
  sample: 0.913
by_status:
  description: Schema objects per status.
  returned: success
  type: dict
  sample: {"verified": 334, "converted-unverified": 0, "needs-work": 32, "skipped": 0}
needs_work:
  description: Schema objects that need work (each with action items in the report).
  returned: success
  type: int
  sample: 32
verified_on:
  description: Version of the PostgreSQL server the objects were executed on; null when not verified.
  returned: success
  type: str
  sample: PostgreSQL 15.18
applied:
  description: Whether the schema was applied to O(target_dsn) by this run (or would be, in check mode).
  returned: success
  type: bool
  sample: false
applied_objects:
  description: Number of objects applied by this run (or that would be, in check mode).
  returned: success
  type: int
  sample: 12
"""

from ansible.module_utils.dbshift_import import DbshiftImport, run_or_fail  # noqa: E402

ARGUMENT_SPEC = {
    "source": {"type": "str", "required": True},
    "out_dir": {"type": "path", "required": True},
    "database": {"type": "str"},
    "verify_dsn": {"type": "str", "no_log": True},
    "report_path": {"type": "path"},
    "apply": {"type": "bool", "default": False},
    "target_dsn": {"type": "str", "no_log": True},
    "strict": {"type": "bool", "default": False},
}
DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.convert.assessment import assess


def main() -> None:
    module = DBSHIFT.module(ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    result = run_or_fail(module, lambda: assess(p, module.check_mode), f"schema assessment of {p['source']}")
    if p["strict"] and result["needs_work"]:
        module.fail_json(
            msg=f"{result['needs_work']} schema object(s) need work (strict): see {result['report_html']}", **result
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
