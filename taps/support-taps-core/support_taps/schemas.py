"""Find a tap's JSON schemas (schemas/<vendor>/<stream>.json) wherever the tap is installed.

Every tap package holds them as `<package>/schemas/`: in the repository that folder is a
symbolic link to the top-level schemas/<vendor>/ (so an editable install reads the
repository's files), and a build copies the files it points to into the sdist and the wheel.
"""

from __future__ import annotations

from importlib.resources import files

from singer_sdk import SchemaDirectory


def schema_directory(vendor: str, package: str | None = None) -> SchemaDirectory:
    """The schemas of `vendor`, shipped in `package` (the tap's package, `__package__`;
    default `tap_<vendor>`)."""
    packaged = files(package or f"tap_{vendor}").joinpath("schemas")
    if not packaged.is_dir():
        msg = (
            f"JSON schemas for {vendor!r} were not found in {packaged}: the installation is "
            "incomplete (in a git checkout on Windows, enable symbolic links: "
            "`git config core.symlinks true`)."
        )
        raise FileNotFoundError(msg)
    return SchemaDirectory(packaged)
