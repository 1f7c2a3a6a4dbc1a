"""Files the demo applies (shipped with the package)."""
