"""tap-khoros-care: Khoros Care analytics reports as a Singer tap."""
