#!/usr/bin/env bash
# The Debian packages CPMS needs outside the virtualenv:
#   chromium                           the browser tests drive /usr/bin/chromium through Playwright
#                                      (Playwright's own browser download is never used);
#   libpango-1.0-0 libpangoft2-1.0-0   WeasyPrint renders the PDFs with Pango.
# apt-get runs only when one of them is missing, so the usual run costs nothing and needs no network.
set -euo pipefail

missing=()
installed() {
    # dpkg knows what apt installed; ldconfig covers a library provided some other way.
    if command -v dpkg-query >/dev/null 2>&1; then
        dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" && return 0
    fi
    [ -n "${2:-}" ] && ldconfig -p 2>/dev/null | grep -q "$2"
}

[ -x /usr/bin/chromium ] || missing+=(chromium)
installed libpango-1.0-0 libpango-1.0.so.0 || missing+=(libpango-1.0-0)
installed libpangoft2-1.0-0 libpangoft2-1.0.so.0 || missing+=(libpangoft2-1.0-0)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "ensure_system_packages.sh: missing ${missing[*]}; installing them with apt-get"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_system_packages.sh: apt-get is not available. Install ${missing[*]} (Chromium at /usr/bin/chromium)" \
         "with your system's package manager, then run this again." >&2
    exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        echo "ensure_system_packages.sh: installing ${missing[*]} needs root. Run:" >&2
        echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
"${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}"
[ -x /usr/bin/chromium ] || { echo "ensure_system_packages.sh: /usr/bin/chromium is still missing" >&2; exit 1; }
echo "ensure_system_packages.sh: installed ${missing[*]}"
