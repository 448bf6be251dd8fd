"""Data migration SQL Server → Aurora PostgreSQL: export → transform → import → finish → validate."""
