# gh-runner-fleet: every target is a thin wrapper over one script in scripts/.
# Settings come from .env (or ENV_FILE=other.env); see .env.example.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Make variables mapped onto script flags.
N        ?=
RUNNERS  ?=
RUNNER   ?=
YES      ?=
FORCE    ?=
DRAIN    ?=
JSON     ?=
WITH_ENV ?=
KEEP     ?=

yes_flag   = $(if $(YES),--yes)
json_flag  = $(if $(JSON),--json)
count_flag = $(if $(N),--count $(N))

# Installed from the lockfile, so a fresh clone needs nothing but `make`.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: demo
demo: node_modules/.installed ## See it work first: two orgs' fleets and a shared board, offline, on stand-ins for GitHub and actions/runner; removes all it made [JSON=1] [KEEP=1]
	./scripts/demo.ts $(json_flag) $(if $(KEEP),--keep)

.PHONY: init
init: node_modules/.installed ## Build the image, write the compose file, start and register N generic + board runners (N=4)
	./scripts/init.ts $(count_flag)

.PHONY: register
register: node_modules/.installed ## Register runners not yet configured [RUNNERS="a b"]
	./scripts/register.ts $(RUNNERS)

.PHONY: start
start: node_modules/.installed ## Start runners (registering unconfigured ones first) [RUNNERS="a b"]
	./scripts/start.ts $(RUNNERS)

.PHONY: stop
stop: node_modules/.installed ## Stop runners [RUNNERS="a b"] [DRAIN=1: wait until idle on GitHub]
	./scripts/stop.ts $(if $(DRAIN),--drain) $(RUNNERS)

.PHONY: restart
restart: node_modules/.installed ## Recreate runners from the current image (registration and work dir stay) [RUNNERS="a b"]
	./scripts/restart.ts $(RUNNERS)

.PHONY: logs
logs: node_modules/.installed ## Show a runner's logs (RUNNER=name) [FOLLOW=1]
	./scripts/logs.ts $(if $(FOLLOW),--follow) $(RUNNER)

.PHONY: ps
ps: node_modules/.installed ## Show the fleet's containers
	./scripts/ps.ts

.PHONY: list
list: node_modules/.installed ## Join local containers with GitHub's registrations [JSON=1]
	./scripts/list.ts $(json_flag)

.PHONY: compose
compose: node_modules/.installed ## Regenerate the compose file, keeping the current number of generic runners [N=…]
	./scripts/compose.ts $(count_flag)

.PHONY: image
image: node_modules/.installed ## Rebuild the runner image now (init rebuilds only on change)
	./scripts/image.ts --force

.PHONY: rm
rm: node_modules/.installed ## Unregister and remove runners, containers and volumes [RUNNERS="a b"] [YES=1] [FORCE=1]
	./scripts/remove.ts $(yes_flag) $(if $(FORCE),--force) $(RUNNERS)

.PHONY: purge
purge: node_modules/.installed ## Remove everything of this ORG/REPO, generated files included [YES=1] [WITH_ENV=1: .env too]
	./scripts/purge.ts $(yes_flag) $(if $(WITH_ENV),--env)

.PHONY: locks
locks: node_modules/.installed ## Show shared-hardware locks: holder and queue per resource [JSON=1]
	./scripts/locks.ts $(json_flag)

.PHONY: bench
bench: node_modules/.installed ## Benchmark lock handoff latency and fairness [JSON=1]
	npm run --silent bench -- $(json_flag)

.PHONY: typecheck
typecheck: node_modules/.installed ## Type-check in strict mode
	npm run --silent typecheck

.PHONY: test
test: node_modules/.installed test-ground ## Set up the test ground, type-check, run every test
	npm run --silent typecheck
	npm test

.PHONY: test-ground
test-ground: ## Install/start Docker and build the e2e images when missing (cached; needs root the first time)
	bash tests/e2e/setup.sh
