"""From many sessions to trends and flags: personal baselines, training load and overuse flags.

The shapes in :mod:`hipsense.trends.model` are the contract between this package (which computes them)
and its readers (the terminal, the HTML report, the export).
"""

from hipsense.trends.model import SEVERITIES, Flag, Trends

__all__ = ["SEVERITIES", "Flag", "Trends"]
