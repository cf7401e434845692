"""What a history is still too short to judge: one line per kind of flag rule, with how much more it needs.

An empty flag list means "nothing stood out" only when the rules could judge; with a short history the
reader is told which rules have not judged yet instead (docs/flags.md, "Too short to judge").
"""

from __future__ import annotations

from hipsense.trends.baselines import PersonalBaseline
from hipsense.trends.flags import OveruseFlagger, sides_unknown
from hipsense.trends.model import Trends

#: Days of history the load rules need (the chronic window of docs/load.md).
LOAD_DAYS = 28


def not_judged(
    trends: Trends, flagger: OveruseFlagger | None = None, baseline: PersonalBaseline | None = None
) -> list[str]:
    """Sentences for the kinds of rule the history is too short for (empty when every kind could judge)."""
    flagger = flagger or OveruseFlagger()
    need = (baseline or PersonalBaseline()).min_sessions + flagger.persist
    s, out = trends.sessions, []
    days = len(trends.daily)
    if days < LOAD_DAYS:
        out.append(
            f"Load spike and climb not judged yet: they need {LOAD_DAYS} days of history, "
            f"{days} so far ({LOAD_DAYS - days} more days)."
        )
    sided = int((~sides_unknown(s)).sum()) if len(s) else 0
    if sided < need:
        out.append(
            f"Asymmetry and pelvic drop not judged yet: a baseline needs {need - flagger.persist} earlier runs "
            f"with known sides and a flag {flagger.persist} more, {need} in all; {sided} so far "
            f"({need - sided} more)."
        )
    if len(s) < flagger.fatigue_runs:
        out.append(
            f"Form late in runs not judged yet: it needs {flagger.fatigue_runs} runs, {len(s)} so far "
            f"({flagger.fatigue_runs - len(s)} more)."
        )
    return out
