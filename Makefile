# make setup | test | demo | bench | clean
# make test PYTEST_ARGS="tests/test_postgres_fixture.py -x"   passes extra arguments to pytest
# (it runs with pytest-xdist, half as many workers again as cores; PYTEST_ARGS="-n 0" runs in one process)
PYTEST_ARGS ?=
# A third of the suite's time is waiting (servers starting, idle time-outs, network time-outs): on 2 cores
# a third worker fills it (user+sys CPU was 20 of the 30 core-minutes a 15-minute run has).
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n * 3 / 2 > 1 ? n * 3 / 2 : 1 )))

.PHONY: setup test demo bench clean

setup:
	bash scripts/setup.sh

test: setup
	.venv/bin/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup --durations=15 $(PYTEST_ARGS)

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
