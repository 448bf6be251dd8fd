"""Schema conversion T-SQL → PostgreSQL: read sources, convert each object, verify it on PostgreSQL, report."""
