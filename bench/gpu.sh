#!/usr/bin/env bash
# BPR on the CPU against the GPU (issue 10, part 7), prepared for a machine with an NVIDIA GPU; docs/gpu.md.
#
#   bash bench/gpu.sh              prepare the GPU backend from registry packages, then measure both arms
#   bash bench/gpu.sh --cpu-only   measure the CPU arm alone (no GPU, no downloads): a check of the script itself
#
# The GPU backend, from registries only (no download from storage.googleapis.com, which tfjs-node-gpu's install
# script would do):
#   1. PyPI: the `tensorflow` wheel (its libtensorflow_cc.so.2 exports the TF C API that the tfjs-node binding calls,
#      its libtensorflow_framework.so.2, and the C headers under tensorflow/include), and the NVIDIA CUDA/cuDNN
#      wheels its `and-cuda` extra pins, each installed with --no-deps into one folder;
#   2. npm: @tensorflow/tfjs-node-gpu with --ignore-scripts (so its install script downloads nothing);
#   3. its native binding built from source with node-gyp (bundled with npm) against the wheel's library and headers,
#      into the folder layout its loader expects (deps/lib, deps/include, lib/napi-v8/tfjs_binding.node).
# Then bench/gpu-bpr.ts trains and scores on both arms, side by side, under a five-minute limit, and writes
# bench/results/gpu.md (bench/results/gpu-cpu-only.md with --cpu-only).
#
# Settings (environment): GPU_BENCH_DIR (default /tmp/buddies-gpu: wheels and build), TF_VERSION (default 2.15.1),
# TFJS_VERSION (default 4.22.0), PIP_FIND_LINKS + PIP_NO_INDEX=1 for a machine that reaches no registry but has the
# wheels in a folder, GPU_BENCH_ARGS (extra flags for bench/gpu-bpr.ts, e.g. "--users 200000").
set -euo pipefail
cd "$(dirname "$0")/.."

CPU_ONLY=0
for a in "$@"; do
  case "$a" in
    --cpu-only) CPU_ONLY=1 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/gpu.sh: unknown option '$a' (--cpu-only, --help)" >&2; exit 2 ;;
  esac
done

DIR="${GPU_BENCH_DIR:-/tmp/buddies-gpu}"
TF_VERSION="${TF_VERSION:-2.15.1}"
TFJS_VERSION="${TFJS_VERSION:-4.22.0}"
say() { echo "[gpu.sh] $*" >&2; }
die() { echo "bench/gpu.sh: $*" >&2; exit 1; }
mkdir -p bench/results "$DIR"

if [ "$CPU_ONLY" = 1 ]; then
  say "CPU arm only (no GPU backend prepared)"
  # shellcheck disable=SC2086
  timeout 300 npx tsx bench/gpu-bpr.ts --arms cpu --out bench/results/gpu-cpu-only.md --note "CPU arm only: --cpu-only" ${GPU_BENCH_ARGS:-} \
    || die "the CPU arm failed or ran past five minutes (exit $?)"
  exit 0
fi

# ---- 0. a GPU, or one clear line -----------------------------------------------------------------------------
command -v nvidia-smi >/dev/null 2>&1 && GPUS="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)" || GPUS=0
[ "${GPUS:-0}" -ge 1 ] || die "no NVIDIA GPU found (nvidia-smi missing or lists none): run this on a GPU machine, or pass --cpu-only"
say "$(nvidia-smi -L | head -1)"
command -v python3 >/dev/null || die "python3 is needed to fetch the tensorflow wheel from PyPI"
command -v g++ >/dev/null && command -v make >/dev/null || die "g++ and make are needed to build the tfjs-node-gpu binding (apt-get install build-essential)"

# ---- 1. PyPI: tensorflow and the CUDA wheels it pins ----------------------------------------------------------
PY="$DIR/py"
if [ ! -f "$PY/tensorflow/libtensorflow_cc.so.2" ]; then
  say "pip: tensorflow==$TF_VERSION (no deps) into $PY"
  python3 -m pip install --quiet --no-deps --target "$PY" "tensorflow==$TF_VERSION" || die "pip could not fetch tensorflow==$TF_VERSION (a registry or PIP_FIND_LINKS is needed)"
fi
META="$(ls "$PY"/tensorflow-"$TF_VERSION".dist-info/METADATA)"
mapfile -t CUDA < <(sed -n "s/^Requires-Dist: \(nvidia-[a-z0-9-]*\) *(\?\(==[0-9.]*\))\? *; *extra == .and-cuda./\1\2/p" "$META")
[ "${#CUDA[@]}" -ge 5 ] || die "could not read the CUDA wheels of tensorflow $TF_VERSION's and-cuda extra from $META"
if [ ! -d "$PY/nvidia/cudnn" ]; then
  say "pip: ${CUDA[*]} (no deps)"
  python3 -m pip install --quiet --no-deps --target "$PY" "${CUDA[@]}" || die "pip could not fetch the CUDA wheels"
fi
LIBS="$(ls -d "$PY"/nvidia/*/lib | paste -sd: -)"
export LD_LIBRARY_PATH="$PY/tensorflow:$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# ---- 2. npm: tfjs-node-gpu without its install script ---------------------------------------------------------
PKG="node_modules/@tensorflow/tfjs-node-gpu"
if [ ! -f "$PKG/package.json" ] || [ ! -d node_modules/@mapbox/node-pre-gyp ]; then
  say "npm: @tensorflow/tfjs-node-gpu@$TFJS_VERSION --ignore-scripts --no-save"
  npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node-gpu@$TFJS_VERSION" >&2 || die "npm could not fetch @tensorflow/tfjs-node-gpu@$TFJS_VERSION"
fi

# ---- 3. the binding, built against the wheel's libtensorflow --------------------------------------------------
if [ ! -f "$PKG/lib/napi-v8/tfjs_binding.node" ]; then
  LIBVER="$(node -p "require('./$PKG/scripts/deps-constants.js').LIBTENSORFLOW_VERSION")"
  rm -rf "$PKG/deps" && mkdir -p "$PKG/deps/lib"
  cp -r "$PY/tensorflow/include" "$PKG/deps/include"
  ln -s "$PY/tensorflow/libtensorflow_cc.so.2" "$PKG/deps/lib/libtensorflow_cc.so.2"
  ln -s "$PY/tensorflow/libtensorflow_framework.so.2" "$PKG/deps/lib/libtensorflow_framework.so.2"
  # the names the linker (-ltensorflow) and tfjs-node's own scripts look for
  ln -s libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so"
  ln -s libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so.$LIBVER"
  ln -s libtensorflow_framework.so.2 "$PKG/deps/lib/libtensorflow_framework.so"
  ln -s libtensorflow_framework.so.2 "$PKG/deps/lib/libtensorflow_framework.so.$LIBVER"
  GYP="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$GYP" ] || die "node-gyp (bundled with npm) not found at $GYP"
  NODEDIR="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  [ -f "$NODEDIR/include/node/node_api.h" ] || die "Node headers not found under $NODEDIR/include/node (install Node from its official tarball or set up the headers)"
  say "building the tfjs-node-gpu binding against libtensorflow from the tensorflow $TF_VERSION wheel"
  (cd "$PKG" && node "$GYP" rebuild --nodedir="$NODEDIR" --module_name=tfjs_binding --module_path="$PWD/lib/napi-v8" --napi_build_version=8 >"$DIR/node-gyp.log" 2>&1) \
    || die "building the binding failed; see $DIR/node-gyp.log"
fi

# ---- 4. the GPU in use, or one clear line ---------------------------------------------------------------------
USING="$(node -e "const tf=require('@tensorflow/tfjs-node-gpu');tf.ready().then(()=>{const b=tf.backend();console.log(b.isUsingGpuDevice?'gpu':'cpu')})" 2>"$DIR/tf-load.log" | tail -1)" \
  || die "@tensorflow/tfjs-node-gpu does not load; see $DIR/tf-load.log"
[ "$USING" = gpu ] || die "tfjs-node-gpu loaded but TensorFlow found no usable GPU (CUDA libraries or driver); see $DIR/tf-load.log"
say "tfjs-node-gpu loads and uses the GPU"

# ---- 5. both arms, side by side, within five minutes ----------------------------------------------------------
# shellcheck disable=SC2086
timeout 300 npx tsx bench/gpu-bpr.ts --arms cpu,gpu --out bench/results/gpu.md --note "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1); tensorflow $TF_VERSION wheel, tfjs-node-gpu $TFJS_VERSION" ${GPU_BENCH_ARGS:-} \
  || die "the benchmark failed or ran past five minutes (exit $?)"
