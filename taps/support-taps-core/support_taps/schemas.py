"""Find the JSON schemas (schemas/<vendor>/<stream>.json) wherever the taps are installed.

A wheel install (pip, Meltano, pipx) carries them inside this package, where the
build puts them; an editable install or a source checkout reads them from the
repository's top-level schemas/ folder.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from singer_sdk import SchemaDirectory


def schema_directory(vendor: str) -> SchemaDirectory:
    packaged = files("support_taps").joinpath("schemas", vendor)
    if packaged.is_dir():
        return SchemaDirectory(packaged)
    checkout = Path(__file__).resolve().parents[2] / "schemas" / vendor
    if checkout.is_dir():
        return SchemaDirectory(checkout)
    msg = f"JSON schemas for {vendor!r} were not found in {packaged} nor {checkout}: the installation is incomplete."
    raise FileNotFoundError(msg)
