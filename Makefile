# Set-up and everyday commands. Everything installs into .venv through pip.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= test
ARGS   ?=

.PHONY: venv install test train bench install-cuda clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools

venv: $(BIN)/python

install: venv
	$(BIN)/python -m pip install -q -e .

test: venv
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	$(BIN)/python -m pytest $(ARGS)

train: venv
	$(BIN)/python -m pip install -q -e ".[plot]"
	$(BIN)/python -m dynet.examples.lenet --metrics-out runs/lenet-metrics.json \
		--checkpoint runs/lenet.ckpt --plot runs/lenet.png $(ARGS)

bench: venv
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python bench/run.py $(ARGS)

# Picks the CuPy wheel that matches the CUDA driver's major version (nvidia-smi).
install-cuda: venv
	@major=$$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9]*\).*/\1/p' | head -n1); \
	if [ -z "$$major" ]; then \
		echo "install-cuda: nvidia-smi found no NVIDIA driver; nothing installed (dynet runs on the CPU)."; \
	elif [ "$$major" -ge 13 ]; then \
		echo "install-cuda: driver supports CUDA $$major; installing the cuda13 extra (cupy-cuda13x)."; \
		$(BIN)/python -m pip install -q -e ".[cuda13]"; \
	elif [ "$$major" -ge 12 ]; then \
		echo "install-cuda: driver supports CUDA $$major; installing the cuda12 extra (cupy-cuda12x)."; \
		$(BIN)/python -m pip install -q -e ".[cuda12]"; \
	else \
		echo "install-cuda: CUDA $$major is older than 12; CuPy wheels for it are not supported."; exit 1; \
	fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
