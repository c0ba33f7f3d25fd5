"""tap-khoros-care: Khoros Care analytics reports as a Singer tap."""

from tap_khoros_care.tap import TapKhorosCare

TapKhorosCare.cli()
