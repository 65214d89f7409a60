#!/usr/bin/env bash
# make install into a temporary prefix, then build examples/contact.c against the installed
# copy through pkg-config only (no -I/-L into this tree):
#   shared:  $(pkg-config --cflags --libs claimline), run with LD_LIBRARY_PATH=$prefix/lib
#   static:  $(pkg-config --static --cflags --libs claimline), libclaimline.a linked in
# and run each against a claimlined of its own (tests/e2e.sh: starts it, stops it on every
# exit); the static one over TLS and mTLS too (tests/tls_e2e.sh, the example only). Then make uninstall must leave the prefix empty. The prefix is removed on any exit.
#
# Environment: MAKE, CC, PKG_CONFIG, CLAIMLINED, CONFIG (passed on to e2e.sh), POLICY (tls_e2e.sh).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"   # clients/c
make_="${MAKE:-make}"
cc="${CC:-cc}"
pkg_config="${PKG_CONFIG:-pkg-config}"

work="$(mktemp -d "${TMPDIR:-/tmp}/claimline-install.XXXXXX")"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
say() { echo "install-test: $*"; }
fail() { echo "install-test: FAILED: $*" >&2; exit 1; }

"$make_" -C "$here" --no-print-directory install PREFIX="$prefix" DESTDIR=

# The layout.
for f in lib/libclaimline.a lib/libclaimline.so.1.0.0 lib/pkgconfig/claimline.pc \
         include/claimline.h include/claimline_methods.h \
         include/claimline/v1/service.pb-c.h include/claimline/v1/types.pb-c.h \
         include/claimline/v1/wire.pb-c.h; do
    [[ -f "$prefix/$f" ]] || fail "$prefix/$f not installed"
done
[[ "$(readlink "$prefix/lib/libclaimline.so.1")" = libclaimline.so.1.0.0 ]] || fail "libclaimline.so.1 link"
[[ "$(readlink "$prefix/lib/libclaimline.so")" = libclaimline.so.1 ]] || fail "libclaimline.so link"
soname="$(readelf -d "$prefix/lib/libclaimline.so.1.0.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[[ "$soname" = libclaimline.so.1 ]] || fail "soname is '$soname'"
say "installed into $prefix (soname $soname)"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cflags="$("$pkg_config" --cflags claimline)"
libs="$("$pkg_config" --libs claimline)"
static_libs="$("$pkg_config" --static --libs claimline)"
say "pkg-config --cflags --libs claimline: $cflags $libs"
say "pkg-config --static --libs claimline: $static_libs"
warn=(-std=c11 -Wall -Wextra -Werror)

# Shared: libclaimline.so.1 from the prefix at run time.
# shellcheck disable=SC2086
"$cc" "${warn[@]}" $cflags "$here/examples/contact.c" $libs -o "$work/contact-shared"
readelf -d "$work/contact-shared" | grep -q 'NEEDED.*\[libclaimline\.so\.1\]' \
    || fail "contact-shared does not need libclaimline.so.1"
[[ "$(LD_LIBRARY_PATH="$prefix/lib" ldd "$work/contact-shared" | awk '/libclaimline/ {print $3}')" \
   = "$prefix/lib/libclaimline.so.1" ]] || fail "contact-shared does not load the installed library"

# Static: -Bstatic picks libclaimline.a (and libprotobuf-c.a) over the .so beside it.
# shellcheck disable=SC2086
"$cc" "${warn[@]}" $cflags "$here/examples/contact.c" \
    -Wl,-Bstatic $static_libs -Wl,-Bdynamic -o "$work/contact-static"
if readelf -d "$work/contact-static" | grep -q 'NEEDED.*libclaimline'; then
    fail "contact-static needs libclaimline.so"
fi

say "shared build against claimlined"
LD_LIBRARY_PATH="$prefix/lib" CONTACT="$work/contact-shared" "$here/tests/e2e.sh"
say "static build against claimlined"
CONTACT="$work/contact-static" "$here/tests/e2e.sh"
# TLS through the installed library (libssl and libcrypto from Requires.private when static).
say "static build over TLS and mTLS"
CONTACT="$work/contact-static" TLS_TESTS="" "$here/tests/tls_e2e.sh"

"$make_" -C "$here" --no-print-directory uninstall PREFIX="$prefix" DESTDIR=
left="$(cd "$prefix" && find . ! -type d)"
[[ -z "$left" ]] || fail "left after uninstall: $left"
say "PASS"
