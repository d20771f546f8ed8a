# Two commands to get going: `make setup` and `make test`.
#
# `make setup` builds two environments: .venv, the reference stack
# (TensorFlow 1.15.5, Python 3.7) that `make test` checks, and .venv-tf2,
# the fast default that the runners use (TensorFlow 2.x; `make bench`
# compares the two on this machine), when a Python 3.9-3.12 is found
# (FAST=0 skips it). Pick the interpreter with PYTHON=...
#
# TF=1 (default): TensorFlow 1.15.5 on Python 3.7 in .venv, the reference
# stack. TF=2: the newest TensorFlow 2.x in .venv-tf2, on the newest Python
# 3.9-3.12 found (requirements-tf2.txt); GPU=1 adds CUDA from pip
# (requirements-tf2-gpu.txt). Every target below works with either.
TF ?= 1
ifeq ($(TF),2)
VENV := .venv-tf2
REQUIREMENTS := requirements-tf2.txt
FIND_PYTHON := tools/find_python_tf2.sh
DEMO_OUTPUT ?= demo_output_tf2
# The TF 2 run of CI: graphs, checkpoints, golden results and the programs;
# the pure-Python config, option and metric tests run under 1.15 only
# (`make test TF=2 TESTS=tests` runs everything).
TESTS ?= tests/reference/test_graphs_reference.py \
	tests/graphs/test_graphs_checkpoint.py \
	tests/graphs/test_graphs_model.py tests/graphs/test_graphs_flops.py \
	tests/unit/test_batch_norm.py tests/unit/test_li_layer.py \
	tests/unit/test_conv_layers.py tests/unit/test_winograd.py \
	tests/unit/test_inference_engine.py \
	tests/datasets/test_data_reader.py tests/programs/test_programs_e2e.py \
	tests/programs/test_programs_cli.py tests/programs/test_programs_shipped.py \
	tests/unit/test_programs_train_utils.py \
	tests/unit/test_programs_eval_utils.py \
	tests/graphs/test_graphs_batch_norm.py tests/graphs/test_programs_towers.py \
	tests/reference/test_train_step_reference.py \
	tests/benchmarks/test_bench_engine.py tests/benchmarks/test_gpu_check.py
else ifeq ($(TF),1)
VENV := .venv
REQUIREMENTS := requirements.txt
FIND_PYTHON := tools/find_python37.sh
TESTS ?= tests
else
$(error TF must be 1 (TensorFlow 1.15, the default) or 2 (TensorFlow 2.x); got '$(TF)')
endif
VENV_PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: setup test test-fast demo clean-venv

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
ifeq ($(TF),2)
setup: $(STAMP) $(if $(filter 1,$(GPU)),$(VENV)/.cuda-installed,)
else
setup: $(STAMP) $(VENV)/.backend-$(BACKEND)
ifeq ($(FAST),1)
	@if bash tools/find_python_tf2.sh >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory setup TF=2 $(if $(filter 1,$(GPU)),GPU=1,); \
	else echo "No Python 3.9-3.12 found: only the reference .venv was built; the runners use it (see docs/performance.md)."; fi
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

$(STAMP): $(REQUIREMENTS)
	@set -e; py=$$(bash $(FIND_PYTHON)); \
	echo "Creating $(VENV) with $$py"; \
	if [ ! -x $(VENV_PY) ]; then "$$py" -m venv $(VENV); fi; \
	$(if $(filter 1,$(TF)),$(VENV_PY) -m pip install --quiet --disable-pip-version-check "pip<24";) \
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check -r $(REQUIREMENTS); \
	TF_CPP_MIN_LOG_LEVEL=2 $(VENV_PY) -c "import sys, tensorflow, tf_slim; print('TensorFlow', tensorflow.__version__, 'on Python %d.%d' % sys.version_info[:2], 'ready in $(VENV)')"; \
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

# TESTS=... picks the test files (TF=1: all of them; TF=2: see above).
test: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(VENV_PY) -m pytest $(TESTS) -q -p no:cacheprovider

# The same files without the tests marked slow (a few minutes on 2 cores).
test-fast: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(VENV_PY) -m pytest $(TESTS) -q -p no:cacheprovider -m "not slow"

# CPU demo (synthetic shapes, LI-MNV2 + LI-ASPP from scratch) -> demo_output/
# (TF=2: demo_output_tf2/). DEMO_OUTPUT=dir picks the folder, DEMO_FORCE=1 replaces an earlier run.
demo: $(STAMP)
	PYTHON="$(CURDIR)/$(VENV_PY)" $(if $(filter 2,$(TF)),DEMO_OUTPUT="$(DEMO_OUTPUT)",) bash runners/demo.sh

# The demo plus the MNV2 + ASPP baseline, side by side (reuses a finished
# `make demo` in the same folder).
.PHONY: demo-compare
demo-compare: $(STAMP)
	PYTHON="$(CURDIR)/$(VENV_PY)" $(if $(filter 2,$(TF)),DEMO_OUTPUT="$(DEMO_OUTPUT)",) bash runners/demo.sh --compare

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

clean-venv:
	rm -rf $(VENV)
