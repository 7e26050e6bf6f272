# Docker Compose targets; included from the Makefile. Compose v2 (`docker compose`) or v1
# (`docker-compose`), whichever this machine has (scripts/docker/compose.sh).
#
#   make images        build both images (PYTHON_IMAGE=..., WHEELHOUSE=1: see build-images.sh)
#   make up            build, start the stack detached, wait until both services are healthy
#   make down          stop and remove the stack
#   make logs          follow both services' logs (JSON lines)
#   make compose-test  images, up, the tests/compose suite, and always down
#   make engine        install and start a Docker engine if none runs (Debian machines)
#   make base-image    build local/python:3.11-bookworm for machines with no registry access
#   make wheelhouse    wheels for an image build without a package index (air-gapped)
# Variables such as PYTHON_IMAGE given on the make command line reach the scripts through
# the environment.
DOCKER_SCRIPTS := scripts/docker
COMPOSE ?= $(DOCKER_SCRIPTS)/compose.sh

.PHONY: images up down logs compose-test engine base-image wheelhouse

images:
	$(DOCKER_SCRIPTS)/build-images.sh

up: images
	$(COMPOSE) up -d --no-build
	$(DOCKER_SCRIPTS)/wait-healthy.sh

down:
	$(COMPOSE) down --remove-orphans

logs:
	$(COMPOSE) logs --follow --tail=100

compose-test: install images
	PY=$(PY) $(DOCKER_SCRIPTS)/compose-test.sh

engine:
	$(DOCKER_SCRIPTS)/start-engine.sh

base-image:
	$(DOCKER_SCRIPTS)/build-base-image.sh

wheelhouse:
	$(DOCKER_SCRIPTS)/wheelhouse.sh
