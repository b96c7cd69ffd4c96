#!/usr/bin/env bash
# Everything the project needs on a fresh Debian machine; quick when it is all there.
#   1. Debian packages listed in scripts/debian-packages.txt (installed when run as root)
#   2. .venv with the project installed editable, with its test extras
#   3. the kiosk screen's message catalogs compiled (kiosk/translations/*/LC_MESSAGES/messages.mo)
#   4. HQ's public safety pages' catalogs compiled (hq_dashboard/translations/*/LC_MESSAGES/messages.mo)
# Environment: PYTHON (interpreter for the venv, default python3).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*"; }

# --- 1. Debian packages -------------------------------------------------------------
missing=()
while read -r line || [ -n "$line" ]; do
    line=${line%%#*}
    for pkg in $line; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
done < scripts/debian-packages.txt

if [ ${#missing[@]} -eq 0 ]; then
    say "Debian packages present"
elif [ "$(id -u)" = 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_log=$(mktemp)
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
            </dev/null >"$apt_log" 2>&1; then
        tail -n 40 "$apt_log" >&2
        rm -f "$apt_log"
        say "apt-get failed installing: ${missing[*]}" >&2
        exit 1
    fi
    rm -f "$apt_log"
else
    say "missing Debian packages: ${missing[*]}" >&2
    say "install them with: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    say "continuing; the tests that need them will be skipped" >&2
fi

# --- 2. Python virtual environment --------------------------------------------------
if ! .venv/bin/python -c '' 2>/dev/null; then
    say "creating .venv"
    rm -rf .venv
    "${PYTHON:-python3}" -m venv .venv
fi
# pyscard (the kiosk's PC/SC card readers) has no Linux wheel: it builds with swig against
# libpcsclite-dev.  Without them (a machine set up without root) everything else is installed, so that
# `make demo` runs (its kiosks take QR codes and staff's entries) and the card reader's tests are skipped.
extras="test,card"
if ! command -v swig >/dev/null 2>&1 || [ ! -f /usr/include/PCSC/winscard.h ]; then
    extras="test"
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -d' ' -f1)-${extras/,/-}"
if [ -f "$stamp" ]; then
    say ".venv up to date"
else
    say "installing the project and its test dependencies into .venv"
    [ "$extras" = test ] && say "without pyscard (it needs swig and libpcsclite-dev): card reader tests will be skipped"
    # (the filter drops this machine's pip.conf noise about local index folders that are absent)
    PIP_DISABLE_PIP_VERSION_CHECK=1 .venv/bin/pip install -q -e ".[$extras]" </dev/null 2>&1 \
        | { grep -v "^WARNING: Location 'file:.*' is ignored" || true; }
    rm -f .venv/.installed-*
    touch "$stamp"
fi

# --- 3. Compiled message catalogs (the .po files are the source): the kiosk's screens
#        (domain "messages") and the staff tablet (domain "staff") ----------------------
for domain in messages staff; do
    if ! .venv/bin/pybabel -q compile -d kiosk/translations -D "$domain" >/dev/null 2>&1; then
        .venv/bin/pybabel compile -d kiosk/translations -D "$domain" >&2 || true
        say "compiling the kiosk's $domain catalogs failed" >&2
        exit 1
    fi
done

# --- 4. HQ's public safety pages (inquiry, answer, self-report): the kiosk's seven languages --
if ! .venv/bin/pybabel -q compile -d hq_dashboard/translations -D messages >/dev/null 2>&1; then
    .venv/bin/pybabel compile -d hq_dashboard/translations -D messages >&2 || true
    say "compiling HQ's safety-page catalogs failed" >&2
    exit 1
fi
