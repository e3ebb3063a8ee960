# `make run` — the whole back office on SQLite and a file-backed broker (no servers needed).
# `make test` — the whole test suite against the real PostgreSQL and Redis on 127.0.0.1.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/shop
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test lint bench messages drill

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

run: export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py demo_webhooks
	$(BIN)/python manage.py demo_setup
	$(BIN)/python manage.py demo_payments
	$(BIN)/python manage.py demo_fulfillment
	@echo "Back office: http://127.0.0.1:$(PORT)/admin/   API docs: http://127.0.0.1:$(PORT)/api/docs/"
	PORT=$(PORT) $(BIN)/honcho start -f Procfile

test: install
	@command -v chromium >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk)
	@$(BIN)/python -c "import psycopg, sys; psycopg.connect('$(TEST_DATABASE_URL)'.rsplit('/', 1)[0] + '/postgres', connect_timeout=3).close()" \
	  || (echo "PostgreSQL is not reachable at $(TEST_DATABASE_URL) — start it (see README)"; exit 1)
	@$(BIN)/python -c "import redis; redis.Redis.from_url('$(TEST_REDIS_URL)', socket_connect_timeout=3).ping()" \
	  || (echo "Redis is not reachable at $(TEST_REDIS_URL) — start it (see README)"; exit 1)
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# A bounded burst of placements and callbacks against the running `make run` (in another terminal), so the
# order-health page, /metrics and the alerts show an incident: `make drill` then open /admin/order-health/.
drill: install
	$(BIN)/python manage.py ops_drill --url http://127.0.0.1:$(PORT)

# Placement, callbacks answered from the inbox and a 30-s burst of both (~8 min), the beat sweeps (~30 min: 100,000 expiries and e-mails, 20,000 stale
# payments and 50,000 parcels against 50 ms emulators), the admin and order-health page at a million orders
# (~8 min, most of it seeding). Each part alone: python -m tests.bench.<run|sweeps|admin|profile> --help
bench: install
	$(BIN)/python -m tests.bench.run
	$(BIN)/python -m tests.bench.sweeps
	$(BIN)/python -m tests.bench.admin

# Re-extract every app's strings into its zh_Hans catalogue (translate the new entries, then compile).
messages: install
	for app in core inventory orders payments fulfillment notifications webhooks; do \
	  (cd $$app && ../$(BIN)/python ../manage.py makemessages -l zh_Hans --ignore 'migrations/*'); done
	# config/ and the project's templates/ share config/locale (LOCALE_PATHS)
	$(BIN)/python manage.py makemessages -l zh_Hans -i '.venv/*' -i 'var/*' -i 'tests/*' -i '*/migrations/*' \
	  -i 'core/*' -i 'inventory/*' -i 'orders/*' -i 'payments/*' -i 'fulfillment/*' -i 'notifications/*' -i 'webhooks/*'
	for app in config core inventory orders payments fulfillment notifications webhooks; do \
	  (cd $$app && ../$(BIN)/python ../manage.py compilemessages); done
