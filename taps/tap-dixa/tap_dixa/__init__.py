"""tap-dixa: Dixa's Analytics API as a Singer tap, built from Dixa's own catalogue."""
