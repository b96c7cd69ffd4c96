.PHONY: setup test demo bench clean

setup:
	bash scripts/setup.sh

test: setup
	.venv/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

demo: setup
	.venv/bin/evac demo

bench: setup
	.venv/bin/evac bench ingest --events 200000 --json

clean:
	rm -rf var build *.egg-info .pytest_cache .hypothesis
