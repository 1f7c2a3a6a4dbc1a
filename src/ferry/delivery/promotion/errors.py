"""The promotion layer's errors, one line each (the CLI prints ``error: <message>`` and exits 1).

    PromotionError               bad input: no build record, an unknown or out-of-order environment, no pin
    ├── GateRefused              a gate said no: ``.gate`` names it (health, sync, soak, verify, approval, rejected)
    └── NoPreviousPin            ``ferry reject --to-previous`` found no earlier good pin in the history

Config-repo failures (``ConfigRepoError``, ``PinConflict``) and cluster failures (``ApplyError``) pass through
unchanged: they already name their cause.
"""

from __future__ import annotations

__all__ = ["GateRefused", "NoPreviousPin", "PromotionError"]


class PromotionError(Exception):
    """A promotion, approval or rejection cannot proceed; nothing was written."""


class GateRefused(PromotionError):
    """A gate refused the promotion: ``promote order-service sit → qa refused by gate health: ...``."""

    def __init__(self, message: str, *, gate: str, service: str) -> None:
        super().__init__(message)
        self.gate = gate
        self.service = service


class NoPreviousPin(PromotionError):
    """The pin history holds nothing to roll back to."""
