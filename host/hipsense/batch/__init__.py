"""Cohort processing: many recordings analysed in parallel into Parquet tables (docs/batch.md)."""

from hipsense.batch.discover import Job, discover
from hipsense.batch.run import BatchReport, run_batch

__all__ = ["BatchReport", "Job", "discover", "run_batch"]
