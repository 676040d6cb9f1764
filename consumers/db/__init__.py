"""The database: schema migrations (``migrate``) for PostgreSQL and TimescaleDB."""
