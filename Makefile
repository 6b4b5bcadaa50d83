# Set-up and everyday commands. Everything installs into .venv through pip.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= test
ARGS   ?=

.PHONY: venv install test train train-seq bench install-cuda clean

# Quiet by default: recipes are not echoed (`make V=1` shows them), pip says only warnings and
# errors, and not that a newer pip exists.
ifneq ($(V),1)
Q := @
endif
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# The NVIDIA driver's CUDA major version from nvidia-smi's "CUDA Version: 13.0" (empty without
# a driver) picks the CuPy extra; cuda12/cuda13 carry CuPy's [ctk] (NVRTC, runtime headers,
# cuBLAS, cuRAND wheels), so a machine with only a driver compiles kernels at run time.
CUDA_MAJOR := $(shell nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9][0-9]*\).*/\1/p' | head -n1)
CUDA_EXTRA := $(shell m='$(CUDA_MAJOR)'; if [ -z "$$m" ]; then :; elif [ "$$m" -ge 13 ]; then echo cuda13; elif [ "$$m" -ge 12 ]; then echo cuda12; fi)
comma := ,
empty :=
space := $(empty) $(empty)
# cuda-check pins cupy-cuda13x: on a CUDA 12 driver cuda12's cupy-cuda12x[ctk] replaces it
with_cuda = $(subst $(space),$(comma),$(strip $(if $(filter cuda12,$(CUDA_EXTRA)),$(filter-out cuda-check,$(subst $(comma), ,$(1))),$(subst $(comma), ,$(1))) $(CUDA_EXTRA)))
# PyPI's Linux torch wheel is the CUDA build (several GB of nvidia-* wheels). Without a usable
# NVIDIA driver, torch comes from PyTorch's CPU index (2.13.0+cpu, about 200 MB), which pip
# prefers to PyPI's 2.13.0 because a local version label sorts higher.
# The index is used only when it answers: an offline or firewalled machine (CI) keeps pip's
# own sources instead of retrying an unreachable host for every package. Override with
# TORCH_CPU_INDEX=URL, or TORCH_CPU_INDEX= to never use it.
TORCH_CPU_INDEX ?= $(shell $(PYTHON) -c "import socket; socket.create_connection(('download.pytorch.org', 443), 3).close()" >/dev/null 2>&1 && echo https://download.pytorch.org/whl/cpu)
TORCH_INDEX = $(if $(CUDA_EXTRA),,$(if $(TORCH_CPU_INDEX),--extra-index-url $(TORCH_CPU_INDEX)))
# " --extra-index-url ..." (with its leading space) when the extras list asks for torch
torch_index = $(if $(and $(TORCH_INDEX),$(filter torch bench,$(subst $(comma), ,$(1)))),$(space)$(TORCH_INDEX))
TORCH_NOTE = $(if $(CUDA_EXTRA),torch from PyPI with its CUDA wheels,$(if $(TORCH_INDEX),CPU-only torch from download.pytorch.org/whl/cpu,download.pytorch.org is unreachable: torch from pip's configured sources (PyPI's Linux wheel is the CUDA build)))
CUDA_NOTE = $(if $(CUDA_EXTRA),NVIDIA driver with CUDA $(CUDA_MAJOR): installing the $(CUDA_EXTRA) extra (CuPy + NVRTC + CUDA runtime wheels),$(if $(CUDA_MAJOR),NVIDIA driver with CUDA $(CUDA_MAJOR) is older than 12: no CuPy wheel for it; nothing GPU-related installed (CPU),no NVIDIA driver (nvidia-smi): nothing GPU-related installed (CPU)))

$(BIN)/python:
	@echo "make: creating $(VENV) (the first run installs the dependencies: a few minutes)"
	$(Q)$(PYTHON) -m venv $(VENV)
	$(Q)$(BIN)/python -m pip install -q --upgrade pip setuptools

venv: $(BIN)/python

install: venv
	$(Q)$(BIN)/python -m pip install -q -e .

test: venv
	@echo "make test: $(CUDA_NOTE)"
	$(Q)$(BIN)/python -m pip install -q -e ".[$(call with_cuda,$(EXTRAS))]"$(call torch_index,$(EXTRAS))
	$(Q)$(BIN)/python -m pytest $(ARGS)

train: venv
	@echo "make train: $(CUDA_NOTE)"
	$(Q)$(BIN)/python -m pip install -q -e ".[$(call with_cuda,plot)]"
	$(Q)$(BIN)/python -m dynet.examples.lenet --metrics-out runs/lenet-metrics.json \
		--checkpoint runs/lenet.ckpt --plot runs/lenet.png $(ARGS)

# the row-by-row LSTM on the same digits (dynet.examples.sequential_mnist)
train-seq: venv
	@echo "make train-seq: $(CUDA_NOTE)"
	$(BIN)/python -m pip install -q -e ".[$(call with_cuda,plot)]"
	$(BIN)/python -m dynet.examples.sequential_mnist \
		--metrics-out runs/sequential_mnist-metrics.json \
		--checkpoint runs/sequential_mnist.ckpt --plot runs/sequential_mnist.png $(ARGS)

bench: venv
	@echo "make bench: $(TORCH_NOTE)"
	$(Q)$(BIN)/python -m pip install -q -e ".[bench]"$(call torch_index,bench)
	$(Q)$(BIN)/python bench/run.py $(ARGS)

# The same CuPy extra that `make train` / `make test` pick, on its own.
install-cuda: venv
	$(Q)if [ -z "$(CUDA_EXTRA)" ]; then echo "install-cuda: $(CUDA_NOTE)"; \
		[ -z "$(CUDA_MAJOR)" ] || exit 1; \
	else \
		echo "install-cuda: $(CUDA_NOTE)"; \
		$(BIN)/python -m pip install -q -e ".[$(CUDA_EXTRA)]" && \
		echo "install-cuda: installed dynet-autograd[$(CUDA_EXTRA)]; CUDA check:" && \
		$(BIN)/python -c "import dynet; print(dynet.cuda.unavailable_reason() or 'usable')"; \
	fi

clean:
	$(Q)rm -rf $(VENV) build *.egg-info .pytest_cache
