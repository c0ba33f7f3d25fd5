"""tap-thankful: Thankful's Analytics API as a Singer tap."""

from tap_thankful.tap import TapThankful

TapThankful.cli()
