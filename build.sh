#!/usr/bin/env bash
# Genrescope build driver. Run `./build.sh help` for the commands.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

WASM_TARGET=wasm32-unknown-unknown
# Cargo profile of the browser builds (Cargo.toml: fat LTO, size-leaning optimisation).
WASM_PROFILE=wasm-release
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# The GPU build has its own target dir: both builds write the same cdylib file name, so
# sharing one would make each build overwrite (and re-link) the other's output.
GPU_TARGET_DIR="$TARGET_DIR/wasm-gpu"
PKG_DIR="$ROOT/web/pkg"
# Builds of the same code: the small CPU engine every visitor loads (without Burn or the
# decoders of compressed formats; a second build with relaxed-SIMD multiply-adds), the CPU
# engine with Burn for models whose network the small one does not run (a CNN), the decoder module the
# CPU engine fetches the first time a file needs it (FLAC, MP3, Ogg Vorbis, AAC/ALAC,
# Matroska), the descriptor module it fetches when a model's descriptor-table member first
# runs (the clip descriptors' DSP, left out of the CPU engine), the training module the page
# fetches when someone teaches it their own genres, and the WebGPU-capable engine with every
# decoder and the descriptors, fetched only where navigator.gpu yields an adapter.
WASM_FLAVOURS=(cpu cpu-relaxed cpu-burn decoders descriptors train gpu)
BROWSER_DIR="$ROOT/tests/browser"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
APT_PACKAGES=(chromium mesa-vulkan-drivers)
NODE_MIN_MAJOR=20

# cargo install puts binaries here; make sure a fresh install is found.
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_BIN:"*) ;; *) PATH="$CARGO_BIN:$PATH" ;; esac
export PATH

usage() {
  cat <<EOF
Usage: ./build.sh <command> [args]

Commands:
  serve [PORT]  Set up, build the wasm if stale, and serve web/ on http://127.0.0.1:PORT/
                (default 8000).
  test          Set up, then run every check: cargo fmt --check, cargo clippy (warnings
                are errors), cargo test --workspace, the wasm build and the browser tests
                (headless Chromium). Stops at the first failure.
  setup         Install what the build and the tests need, only what is missing:
                the $WASM_TARGET Rust target, rustfmt and clippy, wasm-bindgen-cli at the version in
                Cargo.lock, Debian packages ${APT_PACKAGES[*]}, and the
                npm packages of tests/browser.
  build [NAME...]
                Build the wasm modules (release, +simd128) and their JS bindings (only the
                NAMEd ones: ${WASM_FLAVOURS[*]}):
                web/pkg/cpu (CPU engine without Burn, loaded first; genrescope_relaxed_bg.wasm
                is the same engine with relaxed-SIMD multiply-adds, for browsers that
                validate it, sharing genrescope.js), web/pkg/cpu-burn (the CPU engine with
                Burn, for CNN and CRNN models), web/pkg/decoders (the
                compressed-format decoders, loaded on demand), web/pkg/descriptors (the
                clip descriptors of table members, loaded on demand), web/pkg/train (own-genre
                training, loaded on demand) and web/pkg/gpu (with WebGPU).
  bench [ARGS]  cargo bench -p genrescope [ARGS] (criterion).
  bench-web [ARGS]
                Set up, build the wasm if stale, and run the browser benchmark
                (tests/browser/bench.mjs): stage timings on the CPU and WebGPU paths in
                headless Chromium and the app's first-load sizes, as JSON on stdout
                (progress on stderr). ARGS: --reps N, --gpu-reps N, --backends cpu,webgpu,
                --clip PATH|none, ... (node tests/browser/bench.mjs --help).
  fuzz [TARGET|all] [SECONDS]
                Fuzz with libFuzzer (cargo-fuzz, tests/fuzz/): decode, bundle, classify or
                descriptors (default: all, one after the other), SECONDS each (default
                1800). Installs the nightly toolchain and cargo-fuzz for this command only.
                The corpus grows in target/fuzz-corpus/TARGET (seeded from
                tests/fuzz/seeds/TARGET); crashes, hangs and out-of-memory inputs go to
                target/fuzz-artifacts/TARGET/. `cargo test` replays the committed seeds.
  help          Show this text.

Environment:
  CHROMIUM      Chromium binary for the browser tests (default /usr/bin/chromium);
                when it exists, setup does not install the chromium package.
  PORT          Default port for serve.
EOF
}

if [[ -t 1 ]]; then BOLD=$'\033[1m' RESET=$'\033[0m'; else BOLD='' RESET=''; fi
step() { printf '%s==> %s%s\n' "$BOLD" "$*" "$RESET"; }
info() { printf '    %s\n' "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found. $2"
}

# ---------------------------------------------------------------------------------------------
# setup

# The wasm-bindgen version Cargo.lock pins; the CLI must match it exactly.
locked_wasm_bindgen_version() {
  awk '
    /^\[\[package\]\]/ { name = "" }
    /^name = /         { name = $3 }
    /^version = / && name == "\"wasm-bindgen\"" { gsub(/"/, "", $3); print $3; exit }
  ' Cargo.lock
}

setup_rust() {
  need cargo "Install Rust with rustup: https://rustup.rs"
  need rustup "Install Rust with rustup (https://rustup.rs); it is needed to add the wasm target."
  if rustup target list --installed | grep -qx "$WASM_TARGET"; then
    info "rust target $WASM_TARGET: present"
  else
    step "Adding Rust target $WASM_TARGET"
    rustup target add "$WASM_TARGET"
  fi

  local component
  for component in rustfmt clippy; do
    if rustup component list --installed | grep -q "^$component"; then
      info "rust component $component: present"
    else
      step "Adding Rust component $component"
      rustup component add "$component"
    fi
  done

  local want have=""
  want="$(locked_wasm_bindgen_version)"
  [[ -n "$want" ]] || die "wasm-bindgen not found in Cargo.lock"
  if command -v wasm-bindgen >/dev/null 2>&1; then
    have="$(wasm-bindgen --version | awk '{print $2}')"
  fi
  if [[ "$have" == "$want" ]]; then
    info "wasm-bindgen-cli $want: present"
  else
    step "Installing wasm-bindgen-cli $want${have:+ (found $have)} (takes a few minutes)"
    if ! cargo install wasm-bindgen-cli --version "=$want" --locked --quiet; then
      # --locked uses the CLI's own lock file; a registry mirror may lack one of its exact
      # versions. Resolving afresh still gives the same CLI version.
      info "install with --locked failed; retrying without --locked"
      cargo install wasm-bindgen-cli --version "=$want" --quiet
    fi
    have="$(wasm-bindgen --version | awk '{print $2}')"
    [[ "$have" == "$want" ]] || die "wasm-bindgen is $have after install, expected $want (check PATH)"
  fi
}

setup_node() {
  need node "Install Node.js >= $NODE_MIN_MAJOR (https://nodejs.org or your distribution)."
  need npm "Install npm (it ships with Node.js)."
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  ((major >= NODE_MIN_MAJOR)) || die "Node.js $(node --version) is too old; need >= $NODE_MIN_MAJOR."
  info "node $(node --version): present"
}

dpkg_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

setup_apt() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    if [[ "$pkg" == chromium && -x "$CHROMIUM" ]]; then
      info "chromium ($CHROMIUM): present"
      continue
    fi
    if command -v dpkg-query >/dev/null 2>&1 && dpkg_installed "$pkg"; then
      info "$pkg: present"
    else
      missing+=("$pkg")
    fi
  done
  ((${#missing[@]} == 0)) && return 0

  command -v apt-get >/dev/null 2>&1 ||
    die "missing ${missing[*]} and no apt-get; install Chromium yourself and set CHROMIUM=/path/to/chromium"
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    need sudo "Run as root or install: ${missing[*]}"
    sudo=(sudo)
  fi
  step "Installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [[ -x "$CHROMIUM" ]] || die "chromium installed but $CHROMIUM does not exist; set CHROMIUM"
}

setup_npm() {
  # npm writes node_modules/.package-lock.json on every install; older than the lock file
  # (or absent) means node_modules is missing or stale.
  local marker="$BROWSER_DIR/node_modules/.package-lock.json"
  if [[ -f "$marker" && ! "$BROWSER_DIR/package-lock.json" -nt "$marker" && ! "$BROWSER_DIR/package.json" -nt "$marker" ]]; then
    info "tests/browser/node_modules: up to date"
  else
    step "Installing npm packages in tests/browser"
    (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# What `serve` needs: the Rust toolchain pieces and Node.
setup_toolchain() {
  setup_rust
  setup_node
}

cmd_setup() {
  step "Setup"
  setup_toolchain
  setup_apt
  setup_npm
}

# ---------------------------------------------------------------------------------------------
# build

# Decimal units (1 MB = 1 000 000 bytes), as the README and the size goals use them.
human_size() {
  awk -v b="$1" 'BEGIN { if (b >= 1000000) printf "%.2f MB", b / 1000000; else printf "%.1f kB", b / 1000 }'
}

# Builds one flavour into web/pkg/<name> (cpu-relaxed: only its wasm, into web/pkg/cpu):
# cargo (wasm, +simd128), then wasm-bindgen. The CPU
# engine and the decoder module share a target dir (the same dependencies; each build
# re-links only its own small part and wasm-bindgen reads its output at once).
build_flavour() {
  local name="$1" target_dir features=()
  case "$name" in
    cpu) target_dir="$TARGET_DIR" features=(--no-default-features --features engine) ;;
    cpu-relaxed) target_dir="$TARGET_DIR" features=(--no-default-features --features relaxed-simd) ;;
    cpu-burn) target_dir="$TARGET_DIR" features=(--no-default-features --features engine,burn,simd-fft) ;;
    decoders) target_dir="$TARGET_DIR" features=(--no-default-features --features decoders,tags) ;;
    descriptors) target_dir="$TARGET_DIR" features=(--no-default-features --features descriptor-module,simd-fft) ;;
    train) target_dir="$TARGET_DIR" features=(--no-default-features --features training) ;;
    gpu) target_dir="$GPU_TARGET_DIR" features=(--features webgpu,simd-fft) ;;
    *) die "unknown wasm flavour: $name" ;;
  esac
  step "Building the $name wasm module ($WASM_PROFILE, +simd128${features[*]:+, ${features[*]}})"
  # Target-specific RUSTFLAGS, so native artefacts in the shared target dir stay valid.
  # The package is an rlib (what the trainer links); the cdylib is made here only.
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
    cargo rustc --profile "$WASM_PROFILE" --lib --crate-type cdylib --target "$WASM_TARGET" \
    -p genrescope --target-dir "$target_dir" "${features[@]}"
  # Names and producer sections are only for debugging; dropping them saves ~15 % gzipped.
  local out_dir="$PKG_DIR/$name" out
  [[ "$name" == cpu-relaxed ]] && out_dir="$target_dir/pkg-cpu-relaxed"
  wasm-bindgen --target web --remove-name-section --remove-producers-section \
    --out-dir "$out_dir" "$target_dir/$WASM_TARGET/$WASM_PROFILE/genrescope.wasm"
  out="$out_dir/genrescope_bg.wasm"
  if [[ "$name" == cpu-relaxed ]]; then
    # The relaxed engine exports exactly what the plain one does, so the page loads either
    # wasm with web/pkg/cpu/genrescope.js; refuse a build where the bindings differ.
    cmp -s "$out_dir/genrescope.js" "$PKG_DIR/cpu/genrescope.js" \
      || die "the relaxed CPU engine's JS bindings differ from web/pkg/cpu/genrescope.js (build cpu first)"
    cp "$out" "$PKG_DIR/cpu/genrescope_relaxed_bg.wasm"
    out="$PKG_DIR/cpu/genrescope_relaxed_bg.wasm"
  fi
  local raw gz
  raw="$(stat -c %s "$out")"
  gz="$(gzip -9 -c "$out" | wc -c)"
  info "${out#"$ROOT/"}: $(human_size "$raw") raw ($raw bytes), $(human_size "$gz") gzip ($gz bytes)"
}

cmd_build() {
  # Outputs of the single-build layout used before web/pkg/{cpu,gpu}.
  rm -f "$PKG_DIR"/genrescope*
  local name names=("$@")
  [[ ${#names[@]} -gt 0 ]] || names=("${WASM_FLAVOURS[@]}")
  for name in "${names[@]}"; do
    [[ " ${WASM_FLAVOURS[*]} " == *" $name "* ]] || die "unknown build '$name' (one of: ${WASM_FLAVOURS[*]})"
  done
  # The GPU build has its own target dir, so it runs beside the others: one flavour's build
  # leaves a core idle for much of its time (its last step, the LTO'd cdylib, is one
  # process). Its output is shown when it ends.
  local gpu_pid="" gpu_log="$GPU_TARGET_DIR/build.log"
  if [[ ${#names[@]} -gt 1 && " ${names[*]} " == *" gpu "* ]]; then
    mkdir -p "$GPU_TARGET_DIR"
    step "Building the gpu wasm module beside the others (output: ${gpu_log#"$ROOT/"}, shown at the end)"
    (build_flavour gpu) >"$gpu_log" 2>&1 &
    gpu_pid=$!
    # A failed build of another flavour stops the script; the GPU build stops with it.
    trap 'pkill -TERM -P "'"$gpu_pid"'" 2>/dev/null; kill "'"$gpu_pid"'" 2>/dev/null' EXIT
  fi
  for name in "${names[@]}"; do
    [[ -n "$gpu_pid" && "$name" == gpu ]] && continue
    build_flavour "$name"
  done
  if [[ -n "$gpu_pid" ]]; then
    local status=0
    wait "$gpu_pid" || status=$?
    trap - EXIT
    cat "$gpu_log"
    [[ $status -eq 0 ]] || die "the gpu wasm build failed (exit $status; its output is above)"
  fi
}

# The wasm is stale when missing or older than anything it is built from.
wasm_is_stale() {
  local name out
  for name in "${WASM_FLAVOURS[@]}"; do
    out="$PKG_DIR/$name/genrescope_bg.wasm"
    [[ "$name" == cpu-relaxed ]] && out="$PKG_DIR/cpu/genrescope_relaxed_bg.wasm"
    [[ -f "$out" && -f "$PKG_DIR/${name%-relaxed}/genrescope.js" ]] || return 0
    [[ -z "$(find src Cargo.toml Cargo.lock -newer "$out" -print -quit 2>/dev/null)" ]] || return 0
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_serve() {
  local port="${1:-${PORT:-8000}}"
  [[ "$port" =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$port'"
  step "Setup"
  # Serving needs only the build toolchain and Node; the browser-test packages are for `test`.
  setup_toolchain
  if wasm_is_stale; then
    cmd_build
  else
    info "web/pkg is up to date"
  fi
  step "Serving web/"
  exec node "$BROWSER_DIR/serve.mjs" --root "$ROOT/web" --port "$port"
}

cmd_test() {
  cmd_setup
  step "cargo fmt --check"
  cargo fmt --all --check
  step "cargo clippy --workspace --all-targets -- -D warnings"
  cargo clippy --workspace --all-targets -- -D warnings
  step "cargo test --workspace"
  cargo test --workspace
  cmd_build
  step "Browser tests"
  # The browser tests compare the page with the native CLI: the trainer `cargo test` has just
  # built (`cargo run -p genrescope-trainer` would resolve features for that package alone
  # and rebuild much of the workspace).
  (cd "$BROWSER_DIR" && GENRESCOPE_TRAINER="$TARGET_DIR/debug/trainer" node --test --test-reporter=spec ./*.test.mjs)
  step "All tests passed"
}

# ---------------------------------------------------------------------------------------------
# fuzz

FUZZ_DIR="$ROOT/tests/fuzz"
FUZZ_TARGETS=(decode bundle classify descriptors)

setup_fuzz() {
  need rustup "Install Rust with rustup (https://rustup.rs); fuzzing needs the nightly toolchain."
  if rustup toolchain list | grep -q '^nightly'; then
    info "nightly toolchain: present"
  else
    step "Installing the nightly toolchain (for fuzzing only)"
    rustup toolchain install nightly --profile minimal
  fi
  if command -v cargo-fuzz >/dev/null 2>&1; then
    info "cargo-fuzz: present"
  else
    step "Installing cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
  fi
}

# libFuzzer options of one target: its dictionary and the longest input (as make_seeds.py).
fuzz_options() {
  case "$1" in
    decode | classify) echo "-dict=$FUZZ_DIR/dict/audio.dict -max_len=32768" ;;
    bundle) echo "-dict=$FUZZ_DIR/dict/bundle.dict -max_len=70000" ;;
    descriptors) echo "-max_len=32768" ;;
  esac
}

cmd_fuzz() {
  local which="${1:-all}" seconds="${2:-1800}" targets=() target
  [[ "$seconds" =~ ^[0-9]+$ ]] || die "SECONDS must be a number, got '$seconds'"
  if [[ "$which" == all ]]; then
    targets=("${FUZZ_TARGETS[@]}")
  elif [[ " ${FUZZ_TARGETS[*]} " == *" $which "* ]]; then
    targets=("$which")
  else
    die "unknown fuzz target '$which' (one of: ${FUZZ_TARGETS[*]}, all)"
  fi
  step "Setup"
  setup_fuzz
  step "Building the fuzz targets (nightly, AddressSanitizer)"
  cargo +nightly fuzz build --fuzz-dir "$FUZZ_DIR" --target-dir "$TARGET_DIR/fuzz"
  local found=0
  for target in "${targets[@]}"; do
    local corpus="$TARGET_DIR/fuzz-corpus/$target" artifacts="$TARGET_DIR/fuzz-artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    step "Fuzzing $target for $seconds s"
    # Fork mode keeps fuzzing after a crash, a hang or an out-of-memory input (each is saved
    # to $artifacts), so a timed run reports all it found; it then exits non-zero, and the
    # next target still runs.
    # shellcheck disable=SC2046
    cargo +nightly fuzz run --fuzz-dir "$FUZZ_DIR" --target-dir "$TARGET_DIR/fuzz" "$target" \
      "$corpus" "$FUZZ_DIR/seeds/$target" -- $(fuzz_options "$target") \
      -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -fork=1 -ignore_crashes=1 \
      -ignore_timeouts=1 -ignore_ooms=1 -artifact_prefix="$artifacts/" -print_final_stats=1 ||
      found=1
    info "$target: corpus $(find "$corpus" -type f | wc -l) inputs;" \
      "artifacts $(find "$artifacts" -type f | wc -l) in $artifacts"
  done
  ((found == 0)) || die "fuzzing found crashes, hangs or out-of-memory inputs: see target/fuzz-artifacts/"
}

cmd_bench() {
  step "cargo bench -p genrescope $*"
  cargo bench -p genrescope "$@"
}

cmd_bench_web() {
  # Only the JSON goes to stdout, so `./build.sh bench-web > bench.json` works.
  {
    cmd_setup
    if wasm_is_stale; then
      cmd_build
    else
      info "web/pkg is up to date"
    fi
    step "Browser benchmark (node tests/browser/bench.mjs $*)"
  } >&2
  node "$BROWSER_DIR/bench.mjs" "$@"
}

main() {
  local cmd="${1:-help}"
  (($# > 0)) && shift
  case "$cmd" in
    setup) cmd_setup "$@" ;;
    build) setup_toolchain && cmd_build "$@" ;;
    serve) cmd_serve "$@" ;;
    test) cmd_test "$@" ;;
    bench) cmd_bench "$@" ;;
    bench-web) cmd_bench_web "$@" ;;
    fuzz) cmd_fuzz "$@" ;;
    help | -h | --help) usage ;;
    *)
      printf 'error: unknown command: %s\n\n' "$cmd" >&2
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
