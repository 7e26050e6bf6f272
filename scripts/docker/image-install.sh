#!/bin/sh
# Runs inside the images' build stage (POSIX sh: a base image need not have bash).
#   image-install.sh dependencies   the pinned runtime dependencies and the build backend,
#                                   from pyproject.toml
#   image-install.sh project        the project from the sources in /build/src, then drop pip
# Installs into /opt/venv from /build/wheels when it holds wheels (no index needed), else
# from the package index.
set -eu
VENV=/opt/venv
WHEELS=/build/wheels
SRC=/build/src

if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    source_args="--no-index --find-links $WHEELS"
    source_name="wheelhouse/ (no index)"
    hint="wheelhouse/ must hold wheels for this image's $(python3 -V); refill it with scripts/docker/wheelhouse.sh"
else
    source_args=""
    source_name="the package index"
    hint="no index access? fill wheelhouse/ on a connected machine: scripts/docker/wheelhouse.sh"
fi

fail() {
    echo "image-install: installing the $1 from $source_name failed; $hint" >&2
    exit 1
}

case "${1:-}" in
    dependencies)
        # The build backend too, so the project step (re-run on every source change) can
        # skip build isolation and its fresh setuptools install.
        python3 -c 'import sys, tomllib
pyproject = tomllib.load(open(sys.argv[1], "rb"))
print("\n".join(pyproject["project"]["dependencies"] + pyproject["build-system"]["requires"]))' \
            "$WHEELS/pyproject.toml" >/build/requirements.txt
        # shellcheck disable=SC2086  # source_args is a list of words
        "$VENV/bin/pip" install --quiet $source_args -r /build/requirements.txt || fail dependencies
        ;;
    project)
        # shellcheck disable=SC2086
        "$VENV/bin/pip" install --quiet --no-deps --no-build-isolation $source_args "$SRC" \
            || fail project
        # The running service never installs or builds anything.
        "$VENV/bin/pip" uninstall --quiet --yes pip setuptools wheel
        ;;
    *)
        echo "usage: image-install.sh dependencies|project" >&2
        exit 2
        ;;
esac
