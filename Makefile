# Two commands to get going: `make demo` and `make test`. Both create the
# virtual environment on first use. Pick the interpreter with PYTHON=...
VENV := .venv
VENV_PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: setup test demo bench clean-venv

# TensorFlow build in $(VENV): BACKEND=tensorflow (default: tensorflow 1.15.5
# of requirements.txt, CPU), BACKEND=gpu (tensorflow-gpu 1.15.5, CUDA 10.0 /
# cuDNN 7.6; requirements-gpu.txt) or BACKEND=intel (intel-tensorflow 1.15.2,
# oneDNN/MKL, the fastest on CPUs; requirements-intel.txt). The three wheels
# share one Python package, so switching uninstalls the others first. A plain
# `make setup` switches back to the default. One stamp per backend.
BACKEND ?= tensorflow
BACKENDS := tensorflow gpu intel
TF_WHEELS := tensorflow tensorflow-gpu intel-tensorflow
PIP := $(VENV_PY) -m pip --disable-pip-version-check

setup: $(STAMP) $(VENV)/.backend-$(BACKEND)

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

$(STAMP): requirements.txt
	@set -e; py=$$(bash tools/find_python37.sh); \
	echo "Creating $(VENV) with $$py"; \
	if [ ! -x $(VENV_PY) ]; then "$$py" -m venv $(VENV); fi; \
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check "pip<24"; \
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt; \
	$(VENV_PY) -c "import tensorflow, tf_slim; print('TensorFlow', tensorflow.__version__, 'ready in $(VENV)')"; \
	touch $(STAMP)

test: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(VENV_PY) -m pytest tests -q -p no:cacheprovider

# CPU demo (synthetic shapes, LI-MNV2 + LI-ASPP from scratch) -> demo_output/.
# DEMO_OUTPUT=dir picks the folder, DEMO_FORCE=1 replaces an earlier run.
demo: $(STAMP)
	bash runners/demo.sh

# The demo plus the MNV2 + ASPP baseline, side by side (reuses a finished
# `make demo` in the same folder).
.PHONY: demo-compare
demo-compare: $(STAMP)
	bash runners/demo.sh --compare

# Training/eval cost table -> bench/results.json (QUICK=1: < 5 minutes).
# Backend comparison (needs .venv-intel, see requirements-intel.txt):
#   $(VENV_PY) -m tools.benchmark --compare_backends
bench: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(VENV_PY) -m tools.benchmark $(if $(QUICK),--quick,)

clean-venv:
	rm -rf $(VENV)
