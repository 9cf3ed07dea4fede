# Messaging and Event-Driven Systems: every entry point of the course.
#
#   make lab        set up (first time only) and open the course home in JupyterLab
#   make test       set up (first time only) and run every test
#
# Each target creates .venv on first use, and again whenever pyproject.toml or
# constraints.txt change. Only python3 (3.11 to 3.13, with its venv module) is needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Run tools from the course environment even when it is not activated: nbgrader calls
# `alembic`, and Jupyter starts kernels with the Python it finds.
SYSTEM_PATH := $(PATH)
export PATH := $(CURDIR)/$(BIN):$(SYSTEM_PATH)

# Jupyter refuses to run as root (containers, CI) unless told it is intended.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

ASSIGNMENT ?=
LAB_ARGS ?=
PYTEST_ARGS ?=
LINT_PATHS := $(wildcard messagelab tests benchmarks source notebooks)

.DEFAULT_GOAL := help
.PHONY: help setup lab test release autograde grades bench lint lock clean

help:
	@echo "make lab                         set up and open the course home in JupyterLab"
	@echo "make test                        set up and run every test (PYTEST_ARGS=... to pass options)"
	@echo "make release                     regenerate release/ from source/ (nbgrader generate_assignment)"
	@echo "make autograde ASSIGNMENT=<id>   autograde submitted/*/<id>/ into autograded/, on every core"
	@echo "make grades                      export the gradebook to grades.csv"
	@echo "make bench                       run every benchmarks/bench_*.py"
	@echo "make lint                        ruff over the package, tests, benchmarks and notebooks"
	@echo "make lock                        pin the installed versions in constraints.txt"
	@echo "make clean                       remove caches and build output (keeps .venv and grades)"

$(STAMP): pyproject.toml constraints.txt
	@PATH="$(SYSTEM_PATH)" $(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), sys.version' \
		|| { echo "The course needs Python 3.11 or newer as '$(PYTHON)' (make PYTHON=python3.11 ...)."; exit 1; }
	@echo "Setting up $(VENV) (first run, or pyproject.toml / constraints.txt changed)"
	@PATH="$(SYSTEM_PATH)" $(PYTHON) -m venv $(VENV) \
		|| { echo "Creating $(VENV) failed. On Debian/Ubuntu: apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install -c constraints.txt -e ".[test]"
	touch $@

setup: $(STAMP)

# The repository root is both JupyterLab's root (so release/ is browsable) and the
# nbgrader course root (nbgrader_config.py, the formgrader, the local exchange).
lab: $(STAMP)
	mkdir -p exchange
	$(BIN)/jupyter lab notebooks/course-home.ipynb --ServerApp.root_dir="$(CURDIR)" $(ALLOW_ROOT) $(LAB_ARGS)

# Both cores: one pytest worker per core, each test file on one worker (a file's fixtures,
# such as a graded class, are then built once). PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/python -m pytest $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

release: $(STAMP)
	$(BIN)/python -m messagelab.instructor release

# Grades on every core (WORKERS=N to choose); exits 1 when any submission failed.
autograde: $(STAMP)
	@test -n "$(ASSIGNMENT)" || { echo "usage: make autograde ASSIGNMENT=<id> [WORKERS=N], e.g. ASSIGNMENT=ex01-message-queues"; exit 2; }
	$(BIN)/python -m messagelab.instructor autograde $(ASSIGNMENT) $(if $(WORKERS),--workers $(WORKERS))

grades: $(STAMP)
	$(BIN)/python -m messagelab.instructor grades --to grades.csv

bench: $(STAMP)
	@files="$$(ls benchmarks/bench_*.py 2>/dev/null)"; \
	if [ -z "$$files" ]; then echo "No benchmarks/bench_*.py to run."; exit 0; fi; \
	for file in $$files; do \
		echo "== $$file"; \
		$(BIN)/python "$$file" || exit 1; \
	done

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)

# release/ is generated from source/, which is linted.

# Keeps the first (comment) line; the installed set becomes the pinned set.
lock: $(STAMP)
	head -n 1 constraints.txt > constraints.txt.new
	$(BIN)/python -m pip freeze --exclude-editable >> constraints.txt.new
	mv constraints.txt.new constraints.txt
	touch $(STAMP)

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -type d \( -name __pycache__ -o -name .ipynb_checkpoints \) -print0 \
		| xargs -0 rm -rf
