"""tap-xenioo: Xenioo chatbot statistics as a Singer tap."""
