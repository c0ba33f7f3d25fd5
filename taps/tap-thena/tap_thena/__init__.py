"""tap-thena: Thena's requests export as a Singer tap."""
