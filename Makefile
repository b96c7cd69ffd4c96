# make setup | test | demo | bench | clean
# make test PYTEST_ARGS="tests/test_postgres_fixture.py -x"   passes extra arguments to pytest
# (it runs on every core with pytest-xdist; PYTEST_ARGS="-n 0" runs in one process)
PYTEST_ARGS ?=

.PHONY: setup test demo bench clean

setup:
	bash scripts/setup.sh

test: setup
	.venv/bin/python -m pytest -q -p no:cacheprovider -n auto --dist loadgroup --durations=15 $(PYTEST_ARGS)

demo: setup
	.venv/bin/evac demo $(DEMO_ARGS)

bench: setup
	.venv/bin/evac bench ingest --events 200000 --json
	.venv/bin/evac bench card --reads 200
	.venv/bin/evac bench map
	.venv/bin/evac bench occupancy --persons 135000

# Removes what runs leave behind; keeps .venv (delete it by hand to rebuild it).
clean:
	rm -rf var build *.egg-info .pytest_cache .hypothesis .ruff_cache .mypy_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
