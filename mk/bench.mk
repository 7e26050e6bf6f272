# `make bench`: the orchestrator's speed against its targets (tools/bench.py, under 3 minutes,
# loopback only; results in .bench/results.json), then the mock provider's own bench if present.
# BENCH_ARGS passes options through, e.g. `make bench BENCH_ARGS=--quick`.
BENCH_ARGS ?=
# Then each caller API's added latency beside chat's (tools/bench_tools.py, about 30 s).
BENCH_API_REQUESTS ?= 1000

.PHONY: bench
bench: install
	$(PY) -m tools.bench $(BENCH_ARGS)
	$(PY) -m tools.bench_tools --requests $(BENCH_API_REQUESTS)
	@if [ -f bench/mock_bench.py ]; then $(PY) -m bench.mock_bench; \
	else echo "bench: bench/mock_bench.py not present; skipping the mock's bench"; fi

# `make soak`: brownout figures (tools/soak.py): 2,000 requests at 50 concurrency per
# scenario against a seeded mock whose providers half-work; loopback only, about a minute.
.PHONY: soak
soak: install
	$(PY) -m tools.soak $(SOAK_ARGS)
