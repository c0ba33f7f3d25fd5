from tap_thena.tap import TapThena

TapThena.cli()
