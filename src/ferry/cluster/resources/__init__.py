"""ferry."""
