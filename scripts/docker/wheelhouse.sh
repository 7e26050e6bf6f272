#!/usr/bin/env bash
# Fill wheelhouse/ with every wheel an image build needs, so `docker build` installs with no
# index access (what air-gapped users and CI machines without registry access need):
# the pinned runtime dependencies, the build backend, and the project wheel itself.
#
#   PYTHON_IMAGE        the image the wheels are for; its tag gives the Python version
#                       (python:3.12-slim -> 3.12, local/python:3.11-bookworm -> 3.11)
#   WHEELHOUSE_PYTHON   override that version explicitly, e.g. 3.12
#   WHEELHOUSE_DIR      target directory (default wheelhouse/ in the repository root)
#   PYTHON              host interpreter that runs pip (default .venv/bin/python, else python3)
set -euo pipefail

cd "$(dirname "$0")/../.."
PYTHON_IMAGE=${PYTHON_IMAGE:-python:3.12-slim}
WHEELHOUSE_DIR=${WHEELHOUSE_DIR:-wheelhouse}
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

log() { echo "wheelhouse: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

target=${WHEELHOUSE_PYTHON:-$(sed -nE 's/.*:([0-9]+\.[0-9]+).*/\1/p' <<<"$PYTHON_IMAGE")}
[ -n "$target" ] || die "cannot tell the Python version of '$PYTHON_IMAGE'; set WHEELHOUSE_PYTHON=3.X"
host=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# Runtime pins and the build backend, read from pyproject.toml so they cannot drift.
requirements=$("$PYTHON" - <<'PY'
import tomllib

with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)
print("\n".join(project["project"]["dependencies"] + project["build-system"]["requires"]))
PY
)

platform_args=()
if [ "$target" != "$host" ]; then
    # Another interpreter: ask pip for that version's CPython wheels on this architecture.
    arch=$(uname -m)
    platform_args=(--only-binary=:all: --implementation cp --python-version "$target"
        --abi "cp${target/./}")
    for tag in manylinux_2_34 manylinux_2_28 manylinux_2_17 manylinux2014 manylinux_2_5 manylinux1; do
        platform_args+=(--platform "${tag}_${arch}")
    done
fi

mkdir -p "$WHEELHOUSE_DIR"
started=$SECONDS
# Resolving against the index takes seconds even when every file is already here; skip it
# while the pins and the target are those of the last complete download.
stamp="$WHEELHOUSE_DIR/.complete-py$target"
fingerprint=$(printf '%s\n' "$requirements" "${platform_args[*]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" = "$fingerprint" ]; then
    log "dependency wheels for Python $target up to date"
else
    log "downloading wheels for Python $target into $WHEELHOUSE_DIR/"
    # A requirements file keeps each specifier whole (environment markers contain spaces).
    requirements_file=$(mktemp)
    trap 'rm -f "$requirements_file"' EXIT
    printf '%s\n' "$requirements" >"$requirements_file"
    "$PYTHON" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
        --dest "$WHEELHOUSE_DIR" "${platform_args[@]}" -r "$requirements_file" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2) \
        || die "pip download failed for Python $target"
    echo "$fingerprint" >"$stamp"
fi

# The project wheel is pure Python, so the host builds it for any target version; its build
# backend comes from the wheelhouse, which saves a trip to the index.
rm -f "$WHEELHOUSE_DIR"/llm_reliability_orchestrator-*.whl
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-index \
    --find-links "$WHEELHOUSE_DIR" --wheel-dir "$WHEELHOUSE_DIR" . >/dev/null \
    || die "building the project wheel failed"
log "$(find "$WHEELHOUSE_DIR" -name '*.whl' | wc -l) wheels ready in $((SECONDS - started)) s"
