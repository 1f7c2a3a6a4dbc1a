"""ferry: from a merged pull request to production on Kubernetes, safely, showing every step."""

__version__ = "0.1.0"
