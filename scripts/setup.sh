#!/usr/bin/env bash
# Installs every Debian 12 package utcp needs and does the machine set-up its tests expect.
# Idempotent, non-interactive; run as root (as CI does). Safe to run again.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (apt-get needs it)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Build tools, the core/simulator's needs, and the optional parts (DPDK, libnuma, Google
# Benchmark, AFL++, ns-3), plus the tools tests use (tshark reads our pcaps, gnuplot plots
# traces, iproute2 makes the namespaces, binutils' nm checks core purity).
packages=(
  build-essential gcc g++ clang llvm cmake make pkg-config binutils git ca-certificates
  libclang-rt-14-dev
  libdpdk-dev dpdk libnuma-dev
  libbenchmark-dev
  afl++
  libns3-dev ns3
  tshark gnuplot-nox iproute2 iputils-ping procps
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  # wireshark-common asks whether non-root users may capture; answer once, quietly.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup.sh: all packages present"
fi

# Debian's ns-3 3.37 TapBridge execs its tap-creator at the path it was built at.
tap_src=/usr/libexec/ns3/ns3.37-tap-creator
tap_dst=/build/ns3-QJPJQL/ns3-3.37/ns-3.37/build/src/tap-bridge/ns3.37-tap-creator
if [ -e "$tap_src" ] && [ ! -e "$tap_dst" ]; then
  mkdir -p "$(dirname "$tap_dst")"
  ln -s "$tap_src" "$tap_dst"
fi

echo "setup.sh: done"
