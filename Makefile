# Two entry points: `make demo` and `make test`. Both create .venv when missing and install
# everything (torch pinned to the 2.13.0 CPU build first, so nothing pulls a CUDA build).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= torch,onnx,mlx,ray,audio,dev,llamacpp
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

.PHONY: demo test install espeak chromium bench clean

# mlx-audio and soprano-tts are third-party ports the zoo checks; --no-deps because their
# declared dependencies would replace the pinned torch.
# The llamacpp extra builds llama-cpp-python (pinned) from its sdist with the machine's
# compiler, portable (no -march=native: the wheel pip caches runs on any x86-64), ~4 min once.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt torch==2.13.0
	CMAKE_ARGS="-DGGML_NATIVE=OFF $(CMAKE_ARGS)" \
	  $(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[$(EXTRAS)]'
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt --no-deps \
	  mlx-audio==0.6.2 soprano-tts==0.2.0
	@touch $(STAMP)

install: $(STAMP) espeak chromium

# Real speech for the audio tests comes from Debian's espeak-ng.
espeak:
	@command -v espeak-ng >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq espeak-ng >/dev/null; }

# The HTML report is tested in Debian's headless Chromium, driven by Selenium through
# Debian's chromedriver (no browser download). AUDIOPARITY_NO_BROWSER=1 skips those tests.
chromium:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    chromium chromium-driver >/dev/null; }

demo: install
	$(VENV)/bin/audioparity demo --out demo-out

test: install
	$(PY) -m pytest -q

bench: install
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf demo-out .pytest_cache
