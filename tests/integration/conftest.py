"""Fixtures of the real-PostgreSQL tests (defined in tests/kit_postgres.py)."""

from kit_postgres import _plugins_stay_installed, installed, meltano_env, postgres  # noqa: F401
