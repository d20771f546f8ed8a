# Two commands to get going: `make setup` and `make test`.
#
# `make setup` builds every environment this machine can: .venv-tf2
# (TensorFlow 2.x, the fast default the runners use) when a Python 3.9-3.12
# is found, and .venv (TensorFlow 1.15.5 on Python 3.7, the reference every
# result is checked against) when a Python 3.7 is found; it says in one line
# what it skipped and why, and fails only when it can build neither. Each
# environment gets the project installed in editable mode (console scripts
# li-train, li-validate, li-test, li-predict). Pick the interpreter with
# PYTHON=...
#
# Without TF=, `make test` runs in .venv when it exists or can be built (else
# .venv-tf2, running every test there) and `make demo` in .venv-tf2 first;
# both say which (tools/pick_env.sh).
# TF=1: TensorFlow 1.15.5 on Python 3.7 in .venv, the reference stack. TF=2:
# the newest TensorFlow 2.x in .venv-tf2, on the newest Python 3.9-3.12 found
# (requirements-tf2.txt); GPU=1 adds CUDA from pip
# (requirements-tf2-gpu.txt). Every target below works with either.
ifeq ($(origin TF),undefined)
AUTO := 1
endif
TF ?= 1
ifeq ($(TF),2)
VENV := .venv-tf2
REQUIREMENTS := requirements-tf2.txt
FIND_PYTHON := tools/find_python_tf2.sh
# `make demo TF=2` keeps its run beside the reference's; picked without TF=
# it is the demo, in demo_output/ as the README says.
ifneq ($(TF_PICKED),1)
DEMO_OUTPUT ?= demo_output_tf2
endif
# The TF 2 run of CI (`make test TF=2`): the tests marked tf2 (graphs,
# checkpoints, golden results, programs, TF Lite); the pure-Python config,
# option and metric tests run under 1.15 only. When TF 2 is the only
# environment (picked without TF=), and with TESTS_MARK= , every test runs.
ifeq ($(TF_PICKED),1)
TESTS_MARK ?=
endif
TESTS_MARK ?= tf2
TESTS ?= tests
else ifeq ($(TF),1)
VENV := .venv
REQUIREMENTS := requirements.txt
FIND_PYTHON := tools/find_python37.sh
TESTS ?= tests
TESTS_MARK ?=
else
$(error TF must be 1 (TensorFlow 1.15, the default) or 2 (TensorFlow 2.x); got '$(TF)')
endif
VENV_PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: setup test test-fast demo demo-compare lint clean-venv

# TensorFlow build in .venv (TF=1): BACKEND=tensorflow (default: tensorflow
# 1.15.5 of requirements.txt, CPU) or BACKEND=gpu (tensorflow-gpu 1.15.5,
# CUDA 10.0 / cuDNN 7.6; requirements-gpu.txt; GPU=1 means the same). The
# two wheels share one Python package, so switching uninstalls the other
# first. A plain `make setup` switches back to the default. One stamp per
# backend.
BACKEND ?= tensorflow
ifeq ($(TF)$(GPU),11)
BACKEND := gpu
endif
BACKENDS := tensorflow gpu
TF_WHEELS := tensorflow tensorflow-gpu
PIP := $(VENV_PY) -m pip --disable-pip-version-check

# FAST=1 (default): `make setup` also builds the fast environment .venv-tf2
# (`make setup TF=2`) when tools/find_python_tf2.sh finds a Python 3.9-3.12;
# without one it says so and the runners use .venv.
FAST ?= 1
FAST_VENV := .venv-tf2
ifeq ($(AUTO),1)
# No TF given: build what the machine can, pick an environment per target.
setup:
	@built=""; \
	if bash tools/find_python37.sh >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory setup TF=1 FAST=0 $(if $(filter 1,$(GPU)),GPU=1,) || exit 2; built="$$built .venv"; \
	else echo "make setup: skipped .venv (TensorFlow 1.15.5, the reference): $$(bash tools/find_python37.sh 2>&1 | head -n 1 | sed 's/^error: //')"; fi; \
	if [ "$(FAST)" != 1 ]; then echo "make setup: skipped .venv-tf2 (TensorFlow 2.x): FAST=0"; \
	elif bash tools/find_python_tf2.sh >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory setup TF=2 $(if $(filter 1,$(GPU)),GPU=1,) || exit 2; built="$$built .venv-tf2"; \
	else echo "make setup: skipped .venv-tf2 (TensorFlow 2.x): $$(bash tools/find_python_tf2.sh 2>&1 | head -n 1 | sed 's/^error: //')"; fi; \
	if [ -z "$$built" ]; then echo "error: make setup found neither Python 3.7 (TensorFlow 1.15) nor Python 3.9-3.12 (TensorFlow 2.x); install one (pyenv install 3.12) or name it with PYTHON=/path/to/python" >&2; exit 2; fi; \
	echo "make setup: ready:$$built"

test test-fast lint:
	@tf=$$(bash tools/pick_env.sh reference $@) || exit 2; \
	$(MAKE) --no-print-directory $@ TF=$$tf TF_PICKED=1

demo demo-compare:
	@tf=$$(bash tools/pick_env.sh fast $@) || exit 2; \
	$(MAKE) --no-print-directory $@ TF=$$tf TF_PICKED=1
else
ifeq ($(TF),2)
setup: $(STAMP) $(if $(filter 1,$(GPU)),$(VENV)/.cuda-installed,)
else
setup: $(STAMP) $(VENV)/.backend-$(BACKEND)
ifeq ($(FAST),1)
	@if bash tools/find_python_tf2.sh >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory setup TF=2 $(if $(filter 1,$(GPU)),GPU=1,); \
	else echo "make setup: skipped .venv-tf2 (TensorFlow 2.x): no Python 3.9-3.12 found; the runners use .venv"; fi
endif
endif

endif

$(VENV)/.backend-%: $(STAMP)
	@set -e; \
	case " $(BACKENDS) " in *" $* "*) ;; \
	  *) echo "error: BACKEND must be one of: $(BACKENDS); got '$*'" >&2; exit 2;; esac; \
	if [ "$*" = tensorflow ]; then want=$$(grep -E '^tensorflow==' requirements.txt); \
	else want=$$(grep -vE '^[[:space:]]*(#|$$)' requirements-$*.txt); fi; \
	name=$${want%%==*}; \
	if ! $(PIP) show --quiet $$name >/dev/null 2>&1 || [ -n "$$(ls $(VENV)/.backend-* 2>/dev/null | grep -v backend-$*)" ]; then \
	  echo "Installing $$want into $(VENV)"; \
	  for w in $(TF_WHEELS); do $(PIP) uninstall --quiet -y $$w >/dev/null 2>&1 || true; done; \
	  $(PIP) install --quiet --no-deps "$$want"; \
	fi; \
	rm -f $(VENV)/.backend-*; \
	$(VENV_PY) -c "import tensorflow as tf; print('TensorFlow', tf.__version__, '($$name, CUDA build: %s)' % tf.test.is_built_with_cuda(), 'in $(VENV)')"; \
	touch $@

$(STAMP): $(REQUIREMENTS) pyproject.toml
	@set -e; py=$$(bash $(FIND_PYTHON)); \
	if [ ! -x $(VENV_PY) ]; then echo "Creating $(VENV) with $$py"; "$$py" -m venv $(VENV); \
	else echo "Updating $(VENV) ($$($(VENV_PY) --version))"; fi; \
	$(if $(filter 1,$(TF)),$(VENV_PY) -m pip install --quiet --disable-pip-version-check "pip<24";) \
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check -r $(REQUIREMENTS); \
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .; \
	$(VENV_PY) -c "import sys; from libs.core import quiet_tf; tf = quiet_tf.import_tensorflow(); import tf_slim; print('TensorFlow', tf.VERSION, 'on Python %d.%d' % sys.version_info[:2], 'ready in $(VENV)')"; \
	touch $(STAMP)

# GPU=1 with TF=2: the CUDA libraries of tensorflow[and-cuda], pinned in
# requirements-tf2-gpu.txt. They stay installed until `make clean-venv TF=2`
# (TensorFlow runs on the CPU when no GPU is found).
$(VENV)/.cuda-installed: requirements-tf2-gpu.txt $(STAMP)
	@set -e; tf=$$($(VENV_PY) -c "from importlib.metadata import version; print(version('tensorflow'))"); \
	echo "Installing CUDA for tensorflow $$tf into $(VENV)"; \
	$(PIP) install --quiet -r requirements-tf2-gpu.txt "tensorflow[and-cuda]==$$tf"; \
	TF_CPP_MIN_LOG_LEVEL=2 $(VENV_PY) -c "import tensorflow as tf; gpus = tf.config.list_physical_devices('GPU'); print('TensorFlow', tf.__version__, '(CUDA build: %s)' % tf.test.is_built_with_cuda(), 'sees', len(gpus), 'GPU(s)', [g.name for g in gpus])"; \
	touch $@

ifneq ($(AUTO),1)
# TESTS=... picks the test files, TESTS_MARK=... a marker expression
# (markers: pyproject.toml; TF=2: tf2, see above).
test: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(VENV_PY) -m pytest $(TESTS) -q -p no:cacheprovider $(if $(TESTS_MARK),-m "$(TESTS_MARK)",)

# The same files without the tests marked slow (a few minutes on 2 cores).
test-fast: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(VENV_PY) -m pytest $(TESTS) -q -p no:cacheprovider -m "$(if $(TESTS_MARK),$(TESTS_MARK) and )not slow"

# CPU demo (synthetic shapes, LI-MNV2 + LI-ASPP from scratch) -> demo_output/
# (an explicit TF=2: demo_output_tf2/). DEMO_OUTPUT=dir picks the folder, DEMO_FORCE=1 replaces an earlier run.
demo: $(STAMP)
	PYTHON="$(CURDIR)/$(VENV_PY)" $(if $(filter 2,$(TF)),DEMO_OUTPUT="$(DEMO_OUTPUT)",) bash runners/demo.sh

# The demo plus the MNV2 + ASPP baseline, side by side (reuses a finished
# `make demo` in the same folder).
demo-compare: $(STAMP)
	PYTHON="$(CURDIR)/$(VENV_PY)" $(if $(filter 2,$(TF)),DEMO_OUTPUT="$(DEMO_OUTPUT)",) bash runners/demo.sh --compare

# ruff (configured in pyproject.toml) over the whole tree; CI runs it first.
lint: $(STAMP)
	$(VENV_PY) -m ruff check .
endif

# The default (.venv-tf2, fast op graph) against the reference
# tensorflow==1.15.5 with the original op graph (.venv), side by side ->
# bench/results.json and a table (QUICK=1: the MobileNetV2 figures only;
# SCALING=1: per image at crops 257, 513, 1025 and per step at batch 2, 4,
# 8 -> bench/scaling.json; README=1 also writes the table into
# docs/performance.md). The code lives in benchmarks/.
.PHONY: bench
bench:
	@$(MAKE) --no-print-directory setup TF=1 FAST=1
	@test -x $(FAST_VENV)/bin/python || { echo "error: make bench needs $(FAST_VENV) (a Python 3.9-3.12 for make setup TF=2)" >&2; exit 2; }
	TF_CPP_MIN_LOG_LEVEL=2 $(FAST_VENV)/bin/python -m benchmarks.benchmark --reference_python .venv/bin/python $(if $(QUICK),--quick,) $(if $(SCALING),--scaling,) $(if $(README),--doc docs/performance.md,)

# On a machine with an NVIDIA GPU: builds `make setup TF=2 GPU=1` if needed,
# prints the GPUs TensorFlow sees, runs the golden evaluation and a training
# step on the GPU against the CPU, a short `make demo TF=2`, and the bench
# figures at crop 513, batch 8 -> bench/gpu.json (README=1: the table into
# docs/performance.md). Without a GPU it says so in one line and exits 0.
.PHONY: gpu-check
gpu-check:
	@if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then \
	  echo "make gpu-check: no NVIDIA GPU here (nvidia-smi lists none); nothing to check"; \
	else \
	  $(MAKE) --no-print-directory setup TF=2 GPU=1 && \
	  TF_CPP_MIN_LOG_LEVEL=2 $(FAST_VENV)/bin/python -m benchmarks.gpu_check $(if $(README),--doc docs/performance.md,); \
	fi

# Without TF=: both environments.
clean-venv:
	rm -rf $(if $(AUTO),.venv .venv-tf2,$(VENV))
