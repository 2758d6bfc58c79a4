#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain. Idempotent; every
# step is allowed to fail soft where the tests that need it skip with a reason.
set -uo pipefail

# Python readers used by the output tests (pyarrow, pandas, polars, duckdb).
if ! python3 -c 'import pyarrow, pandas, polars, duckdb' >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check pyarrow pandas polars duckdb \
        || echo "install-deps: pip install pyarrow pandas polars duckdb failed; the outside-reader test will fail" >&2
fi

# SALib for the sensitivity cross-check (tests/python/check_salib.py).
if ! python3 -c 'import SALib' >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check SALib \
        || echo "install-deps: pip install SALib failed; the SALib comparison test will fail" >&2
fi

# Slurm (single node) and munge for the job-array end-to-end test.
if ! command -v slurmctld >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        slurmctld slurmd slurm-client munge >/dev/null) \
        || echo "install-deps: Slurm could not be installed; the Slurm test will skip" >&2
fi
# Chromium for the report's headless rendering check (tests/it/report.rs);
# without it that check says so and skips. No sudo when root (as in CI).
if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
    ($SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends chromium >/dev/null) \
        || echo "install-deps: chromium could not be installed; the report's browser check will skip" >&2
fi
exit 0
