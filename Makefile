# wgm: the two commands of the README (`make run`, `make test`) set everything up first.
VENV   := .venv
PY     := $(VENV)/bin/python
WGM    := $(VENV)/bin/wgm
STAMP  := $(VENV)/.wgm-installed
export MPLBACKEND := Agg
export OMP_NUM_THREADS := 1

.PHONY: setup run test test-fast bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml .ci/install.sh environment.yml
	bash .ci/install.sh
	touch $@

## the main job: the flagship CsPbBr3-coated silica microsphere, exact solver and Meep FDTD side by
## side -> results/coated_microsphere/ (exact), .../fdtd/ (FDTD, field maps), comparison.csv/.png
run: setup
	$(WGM) modes sims/coated_microsphere.toml --method both --fields --out results/coated_microsphere -v

## the whole test suite, slow physics validations included (what CI runs)
test: setup
	$(PY) -m pytest -m "slow or not slow" -q

## the fast tests only (no FDTD, seconds)
test-fast: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) bench/bench_exact.py
	$(PY) bench/bench_fdtd.py
	$(PY) bench/bench_sweep.py
	$(PY) bench/bench_reduced.py
	$(PY) bench/bench_dispersive.py
	$(PY) bench/bench_resolution.py --high-q
	OMP_NUM_THREADS=1 $(PY) bench/bench_fem.py

clean:
	rm -rf results .pytest_cache
