"""Alembic migrations of the services' own SQL schema (``shared.db``'s tables and the SMART session tables)."""
