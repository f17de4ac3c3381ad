#!/usr/bin/env bash
# Builds CRIU 4.1.1 into target/criu (Debian 12's criu 3.17 fails `criu check` on recent
# kernels), for the snapshot benchmarks: PICOBOX_BENCH_CRIU=target/criu/criu/criu.
# Usage: benches/build-criu.sh [GIT-URL-OR-PATH]   (default: the upstream repository)
set -euo pipefail
cd "$(dirname "$0")/.."
source=${1:-https://github.com/checkpoint-restore/criu}
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
$SUDO apt-get install -y -qq --no-install-recommends libprotobuf-dev libprotobuf-c-dev \
  protobuf-c-compiler protobuf-compiler python3-protobuf libnl-3-dev libnet1-dev libcap-dev \
  pkg-config libbsd-dev libgnutls28-dev libnftables-dev uuid-dev libaio-dev >/dev/null
rm -rf target/criu
git clone -q "$source" target/criu
git -C target/criu checkout -q v4.1.1
make -C target/criu -j"$(nproc)" criu >target/criu.log 2>&1
echo "built target/criu/criu/criu; run: PICOBOX_BENCH_CRIU=$PWD/target/criu/criu/criu cargo bench -p picobox"
