"""Fall forward from RDS for SQL Server to self-managed SQL Server: fetch/decrypt, chain planning, steps.

Submodules are imported where they are used (the CLI must start fast): envelope, s3_get,
tlog_fetch, tde_password.
"""
