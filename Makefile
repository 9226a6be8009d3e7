# gh-runner-fleet: every target is a thin wrapper over one script in scripts/.
# Settings come from .env (or ENV_FILE=other.env); see .env.example.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Make variables mapped onto script flags; `make help` lists them from the
# `##` comments below (the value of each is empty unless given).
N             ?= ## generic runners: init, compose, supervise, service (-n)
RUNNERS       ?= ## runner names, e.g. "runner-2 phytiumpi": register, start, stop, restart, rm (none: all)
RUNNER        ?= ## one runner: logs
YES           ?= ## 1: no confirmation question: rm, purge (--yes)
FORCE         ?= ## 1: rm and purge take busy runners too; locks RELEASE= frees a held lock (--force)
DRAIN         ?= ## 1: stop waits until GitHub shows each runner idle (--drain)
JSON          ?= ## 1: JSON output: demo, ps, list, status, locks, report, bench (--json)
WITH_ENV      ?= ## 1: purge deletes the env file too (--env)
KEEP          ?= ## 1: demo keeps everything up until Ctrl-C (--keep)
SVG           ?= ## file for the occupancy picture: demo, report (--svg)
STDOUT        ?= ## 1: compose and service print the file instead of writing it (--stdout)
FOLLOW        ?= ## 1: logs keeps following (--follow)
WATCH         ?= ## 1: status redraws on every change until Ctrl-C (--watch)
TAIL          ?= ## lines logs shows, default 200 (--tail)
RELEASE       ?= ## locks: free this resource's lock, with FORCE=1 (release RESOURCE --force)
SINCE         ?= ## report: turns that ended since 7d, 12h, 30m or an ISO date (--since; none: all locks.log holds)
METRICS_ADDR  ?= ## metrics: where /metrics listens, default 127.0.0.1:9464 (--addr)
ENV_FILES     ?= ## list, locks, report, status, metrics: several env files (orgs, hosts) in one table or process, e.g. "acme.env globex.env" (--env-file each)
BENCH_MODE    ?= ## bench modes, "processes containers" by default (--mode)
BENCH_ROUNDS  ?= ## bench rounds, default 50 (--rounds)
BENCH_HOLD_MS ?= ## bench: how long each holder keeps the lock, default 5 (--hold-ms)
BENCH_IMAGE   ?= ## bench's container image (--image)
BENCH_BACKEND ?= ## bench's lock: directory, etcd or both (--backend); default both when BENCH_ETCD or RUNNER_LOCK_ETCD_ENDPOINTS is set

yes_flag   = $(if $(YES),--yes)
json_flag  = $(if $(JSON),--json)
count_flag = $(if $(N),--count $(N))
env_files_flag = $(foreach f,$(ENV_FILES),--env-file $(f))

# Installed from the lockfile, so a fresh clone needs nothing but `make`.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: help
help: ## List the targets and their variables
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@printf '\nVariables (make TARGET VAR=value):\n'
	@awk 'BEGIN {FS = " *[?]= *## "} /^[A-Z_]+ +[?]= *## / {printf "  %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: demo
demo: node_modules/.installed ## See it work first: two orgs' fleets and a shared board, offline, on stand-ins for GitHub and actions/runner; removes all it made [JSON=1] [KEEP=1] [SVG=file]
	./scripts/demo.ts $(json_flag) $(if $(KEEP),--keep) $(if $(SVG),--svg $(SVG))

.PHONY: init
init: node_modules/.installed ## Build the image, write the compose file, start and register N generic + board runners [N=4]
	./scripts/init.ts $(count_flag)

.PHONY: supervise
supervise: node_modules/.installed ## Ephemeral fleets: keep every slot filled with a fresh one-job runner, until Ctrl-C [N=4]
	./scripts/supervise.ts $(count_flag)

.PHONY: service
service: node_modules/.installed ## Ephemeral fleets: write a systemd unit that runs the supervisor [N=4] [STDOUT=1: print it]
	./scripts/service.ts $(count_flag) $(if $(STDOUT),--stdout)

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
logs: node_modules/.installed ## Show a runner's logs RUNNER=name [FOLLOW=1] [TAIL=200]
	./scripts/logs.ts $(if $(FOLLOW),--follow) $(if $(TAIL),--tail $(TAIL)) $(RUNNER)

.PHONY: ps
ps: node_modules/.installed ## Show the fleet's containers [JSON=1]
	./scripts/ps.ts $(json_flag)

.PHONY: list
list: node_modules/.installed ## Join local containers with GitHub's registrations [JSON=1] [ENV_FILES="a.env b.env"]
	./scripts/list.ts $(json_flag) $(env_files_flag)

.PHONY: status
status: node_modules/.installed ## Runners (state, online/busy, job, age) and each board's holder and queue; live with WATCH=1 [JSON=1] [ENV_FILES="a.env b.env"]
	./scripts/status.ts $(if $(WATCH),--watch) $(json_flag) $(env_files_flag)

.PHONY: compose
compose: node_modules/.installed ## Regenerate the compose file, keeping the current number of generic runners [N=…] [STDOUT=1: print it]
	./scripts/compose.ts $(count_flag) $(if $(STDOUT),--stdout)

.PHONY: image
image: node_modules/.installed ## Rebuild the runner image now (init rebuilds only on change)
	./scripts/image.ts --force

.PHONY: rm
rm: node_modules/.installed ## Unregister and remove runners, containers and volumes [RUNNERS="a b"] [YES=1] [FORCE=1]
	./scripts/remove.ts $(yes_flag) $(if $(FORCE),--force) $(RUNNERS)

.PHONY: purge
purge: node_modules/.installed ## Remove everything of this ORG/REPO, generated files included [YES=1] [FORCE=1: busy runners too] [WITH_ENV=1: .env too]
	./scripts/purge.ts $(yes_flag) $(if $(FORCE),--force) $(if $(WITH_ENV),--env)

.PHONY: locks
locks: node_modules/.installed ## Show shared-hardware locks: holder and queue per resource [JSON=1]; RELEASE=resource FORCE=1 frees one (as root) [ENV_FILES="a.env b.env"]
	./scripts/locks.ts $(if $(RELEASE),release $(RELEASE) $(if $(FORCE),--force),$(json_flag) $(env_files_flag))

.PHONY: report
report: node_modules/.installed ## Boards' history from locks.log: jobs, time held, wait p50/p95/max, longest holds per board and org (as root) [SINCE=7d] [JSON=1] [SVG=file] [ENV_FILES="a.env b.env"]
	./scripts/report.ts $(if $(SINCE),--since '$(SINCE)') $(json_flag) $(if $(SVG),--svg $(SVG)) $(env_files_flag)

.PHONY: metrics
metrics: node_modules/.installed ## Serve /metrics for Prometheus until Ctrl-C: runners, board queues, waits, holds, jobs (as root) [METRICS_ADDR=…] [ENV_FILES="a.env b.env"]
	./scripts/metrics.ts $(if $(METRICS_ADDR),--addr $(METRICS_ADDR)) $(env_files_flag)

.PHONY: bench
bench: node_modules/.installed ## Benchmark lock handoff latency and fairness [JSON=1] [BENCH_MODE=…] [BENCH_ROUNDS=50] [BENCH_HOLD_MS=5] [BENCH_IMAGE=…] [BENCH_BACKEND=directory|etcd|both]
	npm run --silent bench -- $(json_flag) $(foreach m,$(BENCH_MODE),--mode $(m)) $(if $(BENCH_ROUNDS),--rounds $(BENCH_ROUNDS)) $(if $(BENCH_HOLD_MS),--hold-ms $(BENCH_HOLD_MS)) $(if $(BENCH_IMAGE),--image $(BENCH_IMAGE)) $(if $(BENCH_BACKEND),--backend $(BENCH_BACKEND))

.PHONY: lint
lint: node_modules/.installed ## Prettier's check, then ESLint with typescript-eslint's type-aware rules (eslint.config.js)
	npm run --silent lint

.PHONY: format
format: node_modules/.installed ## Rewrite the TypeScript and JavaScript sources in Prettier's style (.prettierrc.json)
	npm run --silent format

.PHONY: typecheck
typecheck: node_modules/.installed ## Type-check in strict mode
	npm run --silent typecheck

.PHONY: test-unit
test-unit: node_modules/.installed ## Lint, type-check and the tests that need no root and no Docker (test:unit in package.json, after pretest:unit)
	npm run --silent test:unit

.PHONY: test
test: node_modules/.installed test-ground ## Set up the test ground, lint, type-check, run every test (npm test: its pretest lints and type-checks)
	npm test

.PHONY: test-ground
test-ground: ## Install/start Docker and build the e2e images when missing (cached; needs root the first time)
	bash tests/e2e/setup.sh
