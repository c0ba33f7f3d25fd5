from tap_xenioo.tap import TapXenioo

TapXenioo.cli()
