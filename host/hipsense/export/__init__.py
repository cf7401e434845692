"""Research exports: the store's data as CSV or Parquet with a documented schema (docs/data-dictionary.md)."""

from hipsense.export.export import WHAT, ExportResult, export_store, read_table

__all__ = ["WHAT", "ExportResult", "export_store", "read_table"]
