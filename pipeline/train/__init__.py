"""Training entry points for every model the project ships."""
