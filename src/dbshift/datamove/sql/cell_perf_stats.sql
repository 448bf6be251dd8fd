-- cell_perf_stats: each cell measurement with the UE statistics of the same cell at the same time.
-- One definition for both engines: DuckDB runs it locally, Spark SQL runs it in Glue, so keep it to
-- the SQL both accept. The engine adds server_name and database_name and casts every column to the
-- target's type; the views are the chunk's rows of each source table (same server, database, day, key range).
SELECT
    c.cell_id,
    c.measured_at,
    NULLIF(c.site_code, '') AS site_code,
    c.throughput_mbps,
    c.latency_ms,
    c.dropped_calls,
    u.active_ues,
    u.avg_cqi,
    u.handover_failures
FROM cell_performance_data AS c
LEFT JOIN ue_statistics_data AS u
    ON u.cell_id = c.cell_id
    AND u.measured_at = c.measured_at
