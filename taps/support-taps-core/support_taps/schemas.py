"""Find a tap's JSON schemas (schemas/<vendor>/<stream>.json) wherever the tap is installed.

A built install (a wheel from PyPI, Meltano, pipx, a git URL) carries them inside the
tap's package (`<package>/schemas/`), where its build hook puts them; an editable
install reads them from the repository's top-level schemas/ folder, beside the tap's
distribution folder (taps/<tap>/<package>/ -> schemas/<vendor>/).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from singer_sdk import SchemaDirectory


def schema_directory(vendor: str, package: str | None = None) -> SchemaDirectory:
    """The schemas of `vendor`, shipped in `package` (the tap's package, `__package__`)."""
    package = package or f"tap_{vendor}"
    packaged = files(package).joinpath("schemas")
    if packaged.is_dir():
        return SchemaDirectory(packaged)
    checkout = Path(str(files(package))).resolve().parents[2] / "schemas" / vendor
    if checkout.is_dir():
        return SchemaDirectory(checkout)
    msg = (
        f"JSON schemas for {vendor!r} were not found in {packaged} nor {checkout}: "
        "the installation is incomplete."
    )
    raise FileNotFoundError(msg)
