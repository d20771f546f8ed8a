# Two commands to get going: `make demo` and `make test`. Both create the
# virtual environment on first use. Pick the interpreter with PYTHON=...
VENV := .venv
VENV_PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: setup test demo bench clean-venv

setup: $(STAMP)

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

demo: $(STAMP)
	bash runners/demo.sh

bench: $(STAMP)
	$(VENV_PY) tools/benchmark.py $(if $(QUICK),--quick,)

clean-venv:
	rm -rf $(VENV)
