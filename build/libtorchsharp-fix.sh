#!/usr/bin/env bash
# Makes TorchSharp 0.107.0's native bridge load on systems whose libstdc++ predates GLIBCXX_3.4.32
# (Debian 12). libLibTorchSharp.so needs that version for one symbol only,
# std::ios_base_library_init(), which GCC 13 emits and older runtimes do without. We:
#   1. mark the GLIBCXX_3.4.32 version-need entry weak (vna_flags = VER_FLG_WEAK), so the loader
#      no longer refuses the library;
#   2. add a tiny shim library that defines the symbol as a no-op and make it a DT_NEEDED entry
#      ($ORIGIN is already in the bridge's RUNPATH).
# Only the copy in a build or publish folder is touched, never the NuGet cache. A no-op where the
# system libstdc++ already provides the version, or where the copy was patched before.
set -euo pipefail

dir=${1:?usage: libtorchsharp-fix.sh OUTPUT_DIR}
shim_name=libomni_glibcxx_shim.so
symbol=_ZSt21ios_base_library_initv
version=GLIBCXX_3.4.32

[ "$(uname -s)" = Linux ] || exit 0

find "$dir" -name libLibTorchSharp.so -type f | while read -r lib; do
  libdir=$(dirname "$lib")
  if readelf -d "$lib" | grep -q "$shim_name"; then
    continue   # patched before
  fi
  if ! ldd "$lib" 2>&1 | grep -q "version \`$version' not found"; then
    continue   # the system libstdc++ is new enough
  fi
  for tool in readelf patchelf gcc; do
    command -v "$tool" >/dev/null || {
      echo "error: libtorchsharp-fix: '$tool' is required to make TorchSharp load on this system (apt-get install -y patchelf gcc)" >&2
      exit 1
    }
  done

  tmp=$(mktemp -d)
  printf 'void %s(void) {}\n' "$symbol" > "$tmp/shim.c"
  gcc -shared -fPIC -O2 -o "$libdir/$shim_name" "$tmp/shim.c"
  rm -rf "$tmp"
  patchelf --add-needed "$shim_name" "$lib"

  # Offsets are read after patchelf, which may have moved sections.
  section_offset=$(readelf -V "$lib" | awk '/Version needs section/ {getline; for (i = 1; i <= NF; i++) if ($i == "Offset:") print $(i+1)}')
  entry_offset=$(readelf -V "$lib" | awk -v v="$version" '$2 == "Name:" && $3 == v {sub(":", "", $1); print $1}')
  if [ -z "$section_offset" ] || [ -z "$entry_offset" ]; then
    echo "error: libtorchsharp-fix: no $version version-need entry found in $lib" >&2
    exit 1
  fi
  flags_at=$(( section_offset + entry_offset + 4 ))
  printf '\x02\x00' | dd of="$lib" bs=1 seek="$flags_at" count=2 conv=notrunc status=none

  # A weak version that is absent is reported but harmless; anything else unresolved is fatal.
  if ldd -r "$lib" 2>&1 | grep -v "weak version" | grep -qE "not found|undefined symbol"; then
    echo "error: libtorchsharp-fix: $lib still has unresolved dependencies after patching:" >&2
    ldd -r "$lib" >&2 || true
    exit 1
  fi
  echo "libtorchsharp-fix: patched $lib for a libstdc++ without $version"
done
