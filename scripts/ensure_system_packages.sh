#!/usr/bin/env bash
# The Debian packages CPMS needs outside the virtualenv, in two groups.
#
# Always (`make install`, `make demo`): what the running application needs.
#   libpango-1.0-0 libpangoft2-1.0-0   WeasyPrint renders the PDFs with Pango;
#   fonts-dejavu-core                  DejaVu Sans: Latin (Vietnamese diacritics too), Greek, Cyrillic;
#   fonts-noto-core                    Noto Sans (the PDFs' text) and Noto Sans Arabic, Hebrew, Devanagari, Thai…;
#   fonts-noto-cjk                     Noto Sans CJK: Chinese, Japanese and Korean names. Without it a name like
#                                      王秀英 prints as empty boxes (the PDF stylesheets name these fonts).
#
# With --with-browser (`make install-dev`, hence `make test`): also what the browser tests need.
#   chromium                           the browser tests drive /usr/bin/chromium through Playwright
#                                      (Playwright's own browser download is never used).
#
# apt-get runs only when one of them is missing, so the usual run costs nothing and needs no network.
set -euo pipefail

with_browser=0
for arg in "$@"; do
    case "$arg" in
        --with-browser) with_browser=1 ;;
        *) echo "usage: $0 [--with-browser]" >&2; exit 2 ;;
    esac
done

missing=()
installed() {
    # dpkg knows what apt installed; ldconfig covers a library provided some other way.
    if command -v dpkg-query >/dev/null 2>&1; then
        dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" && return 0
    fi
    [ -n "${2:-}" ] && ldconfig -p 2>/dev/null | grep -q "$2"
}
font_installed() {
    # The package, or else a font of that family fontconfig already finds (installed some other way).
    installed "$1" && return 0
    command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list "$2" family 2>/dev/null)" ]
}

installed libpango-1.0-0 libpango-1.0.so.0 || missing+=(libpango-1.0-0)
installed libpangoft2-1.0-0 libpangoft2-1.0.so.0 || missing+=(libpangoft2-1.0-0)
font_installed fonts-dejavu-core "DejaVu Sans" || missing+=(fonts-dejavu-core)
font_installed fonts-noto-core "Noto Sans Arabic" || missing+=(fonts-noto-core)
font_installed fonts-noto-cjk "Noto Sans CJK SC" || missing+=(fonts-noto-cjk)
if [ "$with_browser" -eq 1 ]; then
    [ -x /usr/bin/chromium ] || missing+=(chromium)
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "ensure_system_packages.sh: missing ${missing[*]}; installing them with apt-get"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_system_packages.sh: apt-get is not available. Install ${missing[*]} (Chromium at /usr/bin/chromium," \
         "the fonts where fontconfig finds them) with your system's package manager, then run this again." >&2
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
if [ "$with_browser" -eq 1 ] && [ ! -x /usr/bin/chromium ]; then
    echo "ensure_system_packages.sh: /usr/bin/chromium is still missing" >&2
    exit 1
fi
echo "ensure_system_packages.sh: installed ${missing[*]}"
