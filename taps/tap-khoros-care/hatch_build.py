"""Build hook: ship the repository's schemas/<vendor>/ inside the tap's package.

The schemas live once, at the repository's top level. Built from the repository
(a wheel, an sdist, `pip install ./taps/<tap>` or a git URL), they are copied in;
an sdist already holds them inside the package, so a wheel built from it takes
them as package data and this hook has nothing to add. An editable install reads
them from the repository (support_taps.schemas), so it copies nothing either.
"""

from __future__ import annotations

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class SchemasHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if version == "editable":
            return
        source = Path(self.root, self.config["schemas"]).resolve()
        if source.is_dir():
            build_data["force_include"][str(source)] = self.config["target"]
