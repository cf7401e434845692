"""``python -m hipsense.export [FILE]``: write the data dictionary (docs/data-dictionary.md) from the schema."""

import sys
from pathlib import Path

from hipsense.export.schema import data_dictionary_markdown

text = data_dictionary_markdown()
if len(sys.argv) > 1:
    Path(sys.argv[1]).write_text(text)
else:
    print(text, end="")
