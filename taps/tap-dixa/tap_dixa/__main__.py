from tap_dixa.tap import TapDixa

TapDixa.cli()
