# The two commands a newcomer runs (see README.md): `make demo` and `make test`.
# Everything else here is what they need; `.ci/run` calls `make test` on a clean checkout.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test setup lint clean mutation

demo: setup
	$(VENV)/bin/hipsense demo

test: setup
	@$(PY) -m pytest -n auto --dist loadfile $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Mutation testing (slow, outside CI; docs/testing.md): mutmut on a copy of the checkout in
# build/mutation/MODULE, where MODULE is a key of [tool.hipsense.mutation] in pyproject.toml (or all).
# One niced mutmut process with one child: the machine's cores are shared.
MODULE ?= all
MUTATION_DIR := build/mutation/$(MODULE)
define MUTATION_SELECT
import sys, tomllib, pathlib
module, path = sys.argv[1], pathlib.Path(sys.argv[2])
text = path.read_text()
table = tomllib.loads(text)["tool"]["hipsense"]["mutation"]
picked = list(table.values()) if module == "all" else [table[module]]
mutate = [m for p in picked for m in p["mutate"]]
tests = [t for p in picked for t in p["tests"] if (path.parent / t).is_file()]
path.write_text(text.replace("[tool.mutmut]\n", f"[tool.mutmut]\nonly_mutate = {mutate!r}\npytest_add_cli_args_test_selection = {tests!r}\n", 1))
endef
export MUTATION_SELECT

mutation: setup
	rm -rf $(MUTATION_DIR) && mkdir -p $(MUTATION_DIR)
	tar -c --exclude=./.venv --exclude=./node_modules --exclude=./.git --exclude=./build . | tar -x -C $(MUTATION_DIR)
	cp -r host $(MUTATION_DIR)/src
	$(PY) -c "$$MUTATION_SELECT" $(MODULE) $(MUTATION_DIR)/pyproject.toml
	cd $(MUTATION_DIR) && HIPSENSE_SHARED_DATA=$(abspath ../shared/data) \
	  nice -n 10 $(abspath $(VENV))/bin/mutmut run --max-children 1 && $(abspath $(VENV))/bin/mutmut results

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) node_modules hipsense-demo .pytest_cache .ruff_cache .mypy_cache
