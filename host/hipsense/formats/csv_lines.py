"""Where a CSV's rows are: a quoted cell that runs over lines, the file line of a data row.

Pure text scanning, as pandas' tokenizer reads the file (:mod:`.csv_values` names lines with it).
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path


def open_quote(line: str, sep: str, comment: str | None = None, quoted: bool = False) -> bool:
    """Whether a quoted cell is still open at the end of ``line`` (``quoted``: open at its start), so
    that the row goes on over the next line. Quotes as pandas' tokenizer reads them: a ``"`` opens a
    quoted cell only at a cell's start (after spaces), ``""`` inside one is a quote, and a comment
    mark outside quotes ends the row."""
    state = "quoted" if quoted else "start"
    for c in line:
        if state == "quoted":
            state = "quote" if c == '"' else state
        elif state == "quote":  # a quote inside quotes: two are one, else the cell's quotes ended
            state = "quoted" if c == '"' else "start" if c == sep else "cell"
        elif c == sep:
            state = "start"
        elif comment and c == comment:
            return False
        elif state == "start" and c == '"':
            state = "quoted"
        elif state == "start" and c not in " \t":
            state = "cell"
    return state == "quoted"


def file_line(path: Path, first_line: int, row: int, comment: str | None = None, sep: str = ",") -> int:
    """The file line of data row ``row`` (from 0) whose first row is on ``first_line``: the lines pandas
    skips are not rows (blank lines, lines of spaces or tabs that do not separate, and with ``comment``
    lines that start with it), nor are the lines a quoted cell's line breaks add to a row. Read on an
    error only (a row's index plus ``first_line`` named the wrong line below any of those)."""
    blank = "".join(set(" \t") - {sep})
    maybe = set(blank + "\r\n" + (comment or "")[:1])  # a line starting otherwise is a row
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        k = -1
        quoted = False
        for n, line in enumerate(islice(fh, first_line - 1, None), first_line):
            if quoted:  # the rest of the row above: its quoted cell holds a line break
                quoted = open_quote(line, sep, comment, quoted=True)
                continue
            if line[:1] in maybe:
                text = line.rstrip("\r\n")
                if not text.strip(blank) or (comment and text.startswith(comment)):
                    continue
            k += 1
            if k == row:
                return n
            quoted = '"' in line and open_quote(line, sep, comment)  # scanned only when it may open one
    return first_line + row


__all__ = ["file_line", "open_quote"]
