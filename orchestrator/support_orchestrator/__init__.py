"""Dagster definitions for the pipelines of a Meltano project (see definitions.py)."""
