#!/usr/bin/env bash
# Installs what the browser tests (tests/web/e2e.js) need, idempotently: Debian's chromium, node
# and npm (apt, through install-deps.sh), and playwright-core at the version pinned in
# tests/web/package-lock.json into tests/web/node_modules (git-ignored). No browser is downloaded:
# playwright-core drives /usr/bin/chromium. When everything is there it prints nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# install-deps.sh skips packages already installed. fonts-liberation is only recommended by
# chromium (install-deps.sh installs no recommends): without it screenshots have no readable text.
need=(chromium fonts-liberation)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
scripts/install-deps.sh "${need[@]}"

want=$(node -e 'const l = require("./tests/web/package-lock.json");
                process.stdout.write(l.packages["node_modules/playwright-core"].version)')
have=$(node -e 'try {
                    const p = "./tests/web/node_modules/playwright-core/package.json";
                    process.stdout.write(require(p).version);
                } catch (e) {}')
if [ "$have" != "$want" ]; then
    echo "install-browser: npm ci playwright-core@$want into tests/web/node_modules" >&2
    # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core downloads nothing itself, but be explicit.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/web --no-audit --no-fund \
        --loglevel=error >/dev/null
fi
[ -x /usr/bin/chromium ] || { echo "install-browser: /usr/bin/chromium is missing" >&2; exit 1; }
