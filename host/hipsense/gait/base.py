"""The algorithm contract every detector follows (mobgap/gaitmap style), written down once and checked.

An algorithm's parameters are set in ``__init__`` only (each stored under its own name, nothing else
computed there); its one action method (``detect``, ``estimate`` or ``calculate``) takes the data plus
a keyword-only ``sampling_rate_hz``, stores its results in attributes ending in ``_`` and returns
``self``. tests/host/test_detector_contract.py runs every subclass through :func:`check_contract`.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

#: The names an action method may have (as in mobgap: one verb per kind of algorithm).
ACTION_METHODS = ("detect", "estimate", "calculate")


class Algorithm:
    """Base of the analysis's algorithm classes; see the module docstring for the contract."""

    #: The action method's name (one of :data:`ACTION_METHODS`).
    _action_method: ClassVar[str] = "detect"

    def get_params(self) -> dict[str, Any]:
        """The parameters as given to ``__init__`` (by the ``__init__`` signature's names)."""
        return {name: getattr(self, name) for name in _init_parameters(type(self))}

    def results(self) -> dict[str, Any]:
        """The results of the last action: every attribute ending in ``_``."""
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def _init_parameters(cls: type) -> list[str]:
    sig = inspect.signature(cls)  # a class's signature is its __init__'s without self
    return [n for n, p in sig.parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def check_contract(cls: type[Algorithm]) -> list[str]:
    """What breaks the contract in ``cls`` (an empty list when nothing does); does not run it.

    Checks: every ``__init__`` parameter has a default (the algorithm can be made without data) and is
    stored under its own name, nothing else is set in ``__init__`` (no results, no derived state);
    the action method exists, is one of :data:`ACTION_METHODS` and takes ``sampling_rate_hz`` as a
    keyword-only argument.
    """
    problems: list[str] = []
    action = cls._action_method
    if action not in ACTION_METHODS:
        problems.append(f"action method {action!r} is not one of {ACTION_METHODS}")
    method = getattr(cls, action, None)
    if method is None:
        return [*problems, f"no {action}() method"]
    params = inspect.signature(method).parameters
    rate = params.get("sampling_rate_hz")
    if rate is None or rate.kind is not inspect.Parameter.KEYWORD_ONLY:
        problems.append(f"{action}() must take sampling_rate_hz as a keyword-only argument")
    init = inspect.signature(cls).parameters
    missing_default = [n for n, p in init.items() if n != "self" and p.default is inspect.Parameter.empty]
    if missing_default:
        problems.append(f"__init__ parameters without a default: {', '.join(missing_default)}")
    else:
        instance = cls()
        names = set(_init_parameters(cls))
        stored = set(vars(instance))
        if names - stored:
            problems.append(f"__init__ does not store {', '.join(sorted(names - stored))} under its own name")
        if stored - names:
            problems.append(f"__init__ sets more than its parameters: {', '.join(sorted(stored - names))}")
    return problems


__all__ = ["ACTION_METHODS", "Algorithm", "check_contract"]
