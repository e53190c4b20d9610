#!/usr/bin/env bash
# Set up everything `wgm` needs, once: called by `make` (setup target) and by .ci/run.
#  * Debian/Ubuntu: Meep and the numerical stack from the distribution, then a virtual
#    environment .venv (from /usr/bin/python3, --system-site-packages) with wgm installed
#    editable.  The distribution's numpy is pinned: Meep's compiled module is built against it.
#  * elsewhere, with conda/mamba: the environment.yml environment, created at .venv.
# Never `pip install meep`: PyPI's "meep" is an unrelated package.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
DEB_PKGS="python3-meep-mpi-default python3-mpi4py python3-numpy python3-scipy python3-matplotlib
  python3-h5py python3-yaml python3-mpmath python3-pytest python3-setuptools python3-wheel python3-venv python3-pip
  openmpi-bin
  libgl1 libglu1-mesa libx11-6 libxext6 libxrender1 libxcursor1 libxfixes3 libxft2 libxinerama1 libfontconfig1 libgomp1"  # this line: what gmsh's wheel loads

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if command -v apt-get >/dev/null 2>&1 && [ -x /usr/bin/python3 ]; then
  missing=""
  for p in $DEB_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "wgm setup: installing Debian packages:$missing" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends $missing >&2
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    echo "wgm setup: creating $VENV (system site packages)" >&2
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
  fi
  # the distribution was called "wgm" before (PyPI's "wgm" is an unrelated WireGuard tool):
  # remove that old editable install of this checkout, then install "wgm-modes"
  if "$VENV/bin/python" -m pip show wgm 2>/dev/null | grep -q "^Name: wgm$"; then
    "$VENV/bin/python" -m pip uninstall -y -q wgm >&2
  fi
  # keep the distribution's numpy: pin it while installing wgm
  pins=$(mktemp)
  "$VENV/bin/python" -c 'import numpy; print(f"numpy=={numpy.__version__}")' > "$pins"
  "$VENV/bin/python" -m pip install -q --no-build-isolation --constraint "$pins" -e . >&2
  rm -f "$pins"
elif command -v mamba >/dev/null 2>&1 || command -v conda >/dev/null 2>&1; then
  CONDA=$(command -v mamba || command -v conda)
  if [ ! -x "$VENV/bin/python" ]; then
    echo "wgm setup: creating conda environment at $VENV from environment.yml" >&2
    "$CONDA" env create -q -p "$VENV" -f environment.yml >&2
  fi
  "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e . >&2
else
  echo "wgm setup: need apt-get (Debian/Ubuntu) or conda/mamba (see README)" >&2
  exit 1
fi
"$VENV/bin/python" -c "import wgm, numpy, scipy, matplotlib; print('wgm', wgm.__version__, 'ready in $VENV')" >&2
