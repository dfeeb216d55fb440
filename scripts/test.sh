#!/usr/bin/env bash
# The test command. Works on a fresh machine: installs what the tests need
# (Debian's chromium + chromium-driver for the browser test, OpenSSL headers
# for Binance's official connector in the conformance test, Python 3 and a
# pinned ccxt from PyPI for the third-party client test of the Binance
# simulator), makes sure the
# PostgreSQL server on 127.0.0.1:5432 (trust auth, database `test`) is up,
# then runs `cargo test --workspace`. Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# Binance's official connector (a dev-dependency of the conformance test) links OpenSSL.
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev pkg-config)
# ccxt drives the Binance simulator in crates/brokers/binance-sim/tests/ccxt.rs,
# ib_async the IB simulator in crates/brokers/ib-sim/tests/ib_async.rs.
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-pip)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} for the browser tests"
  sudo_if_needed apt-get update -qq
  install() { sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
  # A package's post-install script can fail on a fresh container (seen with
  # avahi-daemon, pulled in by chromium); finishing the configuration and
  # trying once more succeeds.
  if ! install; then
    echo "retrying the installation after dpkg --configure -a"
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive dpkg --configure -a >/dev/null 2>&1 || true
    install
  fi
fi

CCXT_VERSION=4.5.90
if ! python3 -c "import ccxt, sys; sys.exit(ccxt.__version__ != '$CCXT_VERSION')" 2>/dev/null; then
  echo "installing ccxt $CCXT_VERSION for the Binance simulator's client test"
  python3 -m pip install -q "ccxt==$CCXT_VERSION" 2>/dev/null ||
    python3 -m pip install -q --break-system-packages "ccxt==$CCXT_VERSION"
fi

IB_ASYNC_VERSION=2.1.0
if ! python3 -c "import ib_async, sys; sys.exit(ib_async.__version__ != '$IB_ASYNC_VERSION')" 2>/dev/null; then
  echo "installing ib_async $IB_ASYNC_VERSION for the IB simulator's client test"
  python3 -m pip install -q "ib_async==$IB_ASYNC_VERSION" 2>/dev/null ||
    python3 -m pip install -q --break-system-packages "ib_async==$IB_ASYNC_VERSION"
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "starting PostgreSQL"
  sudo_if_needed pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break
    sleep 1
  done
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "error: PostgreSQL is not answering on 127.0.0.1:5432; the storage tests need it" >&2
    exit 1
  fi
fi

cargo test --workspace "$@"
