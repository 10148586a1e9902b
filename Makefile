# extractor: `make run` and `make test` set up what is missing, then run.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
APT    := DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: run test bench bench-adapt bench-learn install system-deps browser-deps screenshots fonts model clean

# Debian packages: python3-venv (to make .venv) and poppler-utils (pdftoppm, for PDFs).
# Installed with apt-get when running as root; otherwise the missing package is named.
system-deps:
	@missing=""; \
	$(PYTHON) -c "import venv, ensurepip" 2>/dev/null || missing="$$missing python3-venv"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing"; $(APT) update -qq && $(APT) install -y -qq $$missing >/dev/null; \
	  else \
	    echo "extractor needs the Debian packages:$$missing (sudo apt-get install$$missing)"; \
	    case "$$missing" in *python3-venv*) exit 1;; esac; \
	  fi; \
	fi

# Debian's chromium and chromium-driver, for the end-to-end browser test of the web app.
browser-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null 2>&1 || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing"; $(APT) update -qq && $(APT) install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "the browser test needs the Debian packages:$$missing (sudo apt-get install$$missing)"; \
	  fi; \
	fi

$(STAMP): setup.cfg pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[test,fast]' 2>/dev/null || { \
	  echo "LiteRT (ai-edge-litert) has no build for this machine: TensorFlow's own interpreter reads instead, starting slower"; \
	  $(BIN)/python -m pip install -q -e '.[test]'; }
	@touch $(STAMP)

install: $(STAMP)

# The main job on the shipped samples: results.csv, then how it compares with samples/expected.csv.
run: install
	$(BIN)/extractor extract samples/forms -o results.csv --annotate build/annotated; \
	status=$$?; [ $$status -le 1 ] || exit $$status
	-$(BIN)/python bench/compare.py results.csv samples/expected.csv

test: install browser-deps
	$(BIN)/python -m pytest -q

# The web app's screenshots in docs/, taken by the browser test.
screenshots: install browser-deps
	EXTRACTOR_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/test_browser.py

# Accuracy on every dev set and generated pages, throughput, and Tesseract beside it: bench/results.md.
RAPIDOCR_VENV := build/rapidocr-venv
PPOCR6_VENV := build/ppocr6-venv

bench: install
	@command -v tesseract >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && $(APT) install -y -qq tesseract-ocr >/dev/null; } || echo "tesseract not installed: its column will be empty"
	@[ -x $(RAPIDOCR_VENV)/bin/python ] && $(RAPIDOCR_VENV)/bin/python -c "import rapidocr_onnxruntime" 2>/dev/null || \
	  { $(PYTHON) -m venv $(RAPIDOCR_VENV) && $(RAPIDOCR_VENV)/bin/python -m pip install -q rapidocr_onnxruntime; } || \
	  echo "RapidOCR not installed: its column will be empty"
	@[ -x $(PPOCR6_VENV)/bin/python ] && $(PPOCR6_VENV)/bin/python -c "import rapidocr, onnxruntime" 2>/dev/null || \
	  { $(PYTHON) -m venv $(PPOCR6_VENV) && $(PPOCR6_VENV)/bin/python -m pip install -q 'rapidocr==3.10.*' onnxruntime; } || \
	  echo "RapidOCR 3.10 (PP-OCRv6) not installed: its column will be empty"
	$(BIN)/python bench/run.py

# extractor adapt on the real dev sets in disjoint folds (half an hour on 2 cores): bench/adapt.md,
# which the next `make bench` copies into bench/results.md.
bench-adapt: install
	$(BIN)/python bench/adapt_folds.py

# extract --learn on the real sets read as unlabeled batches (20 minutes on 2 cores): bench/learn.md,
# which the next `make bench` copies into bench/results.md.
bench-learn: install
	$(BIN)/python bench/learn.py

# Handwriting fonts for the synthetic training fields (extractor/synth.py), for `make model` only:
# Debian's fonts-* packages (with apt-get when root) and OFL/Apache faces from npm's @fontsource.
DEBIAN_FONTS := fonts-dkg-handwriting fonts-bwht fonts-breip fonts-humor-sans fonts-dancingscript \
	fonts-comic-neue fonts-tlwg-purisa-ttf fonts-tlwg-sawasdee-ttf fonts-dejavu-core
FONTSOURCE := caveat kalam indie-flower patrick-hand shadows-into-light reenie-beanie homemade-apple \
	nanum-pen-script gochi-hand rock-salt architects-daughter covered-by-your-grace just-another-hand \
	nothing-you-could-do dawning-of-a-new-day la-belle-aurore waiting-for-the-sunrise zeyada \
	gloria-hallelujah schoolbell walter-turncoat coming-soon sue-ellen-francisco crafty-girls handlee \
	neucha short-stack mansalva cedarville-cursive over-the-rainbow loved-by-the-king give-you-glory \
	kristi the-girl-next-door marck-script itim mali sriracha nanum-brush-script swanky-and-moo-moo \
	annie-use-your-telescope just-me-again-down-here permanent-marker caveat-brush delius mynerve
FONT_DIR := build/fonts

fonts:
	@missing=""; for p in $(DEBIAN_FONTS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing"; $(APT) update -qq && $(APT) install -y -qq $$missing >/dev/null; \
	  else echo "more handwriting faces with: sudo apt-get install$$missing"; fi; \
	fi
	@[ -f $(FONT_DIR)/.installed ] || { command -v npm >/dev/null 2>&1 && mkdir -p $(FONT_DIR) && \
	  cd $(FONT_DIR) && npm install --silent --no-audit --no-fund $(addprefix @fontsource/,$(FONTSOURCE)) && \
	  touch .installed; } || echo "npm not found: training uses the Debian faces only"

# Retrain the shipped models: digits (about an hour on 2 cores), pairs (about 45 minutes), then the
# string reader (about 2.5 hours from nothing, then twice 50 minutes more: on fields with printed
# signs, then on fields holding whole printed boxes).
model: install fonts
	$(BIN)/extractor train --epochs 40 --seed 1
	$(BIN)/extractor train --pairs --epochs 8 --seed 1
	$(BIN)/extractor train --strings --epochs 24 --seed 1
	$(BIN)/extractor train --strings --from models/strings.keras --epochs 8 --seed 4
	$(BIN)/extractor train --strings --from models/strings.keras --epochs 8 --seed 5

clean:
	rm -rf build results.csv results.xlsx .pytest_cache
