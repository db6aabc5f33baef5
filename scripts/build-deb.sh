#!/bin/sh
# Build porttune's Debian package: the binary, then what is generated from it (man pages,
# shell completions, the JSON schemas, the systemd units with /usr/bin/porttune), then
# `cargo deb --no-build` (cargo-deb: `cargo install cargo-deb`), which packs them as
# [package.metadata.deb] in Cargo.toml lists.
#
#   scripts/build-deb.sh                      # release build: target/debian/porttune_*.deb
#   scripts/build-deb.sh --profile dev -o DIR --fast
#                                             # the debug build the tests already made,
#                                             # quicker compression (tests/debian_package.rs)
set -eu
cd "$(dirname "$0")/.."
profile=release
output=
fast=
while [ $# -gt 0 ]; do
	case $1 in
	--profile)
		profile=$2
		shift 2
		;;
	-o | --output)
		output=$2
		shift 2
		;;
	--fast)
		fast=--fast
		shift
		;;
	*)
		echo "build-deb.sh: unknown argument $1 (--profile NAME, --output DIR, --fast)" >&2
		exit 2
		;;
	esac
done
case $profile in
dev) dir=debug ;;
*) dir=$profile ;;
esac
command -v cargo-deb >/dev/null 2>&1 || {
	echo "build-deb.sh: cargo-deb is missing: cargo install cargo-deb" >&2
	exit 2
}

cargo build --profile "$profile" --bin porttune
bin=target/$dir/porttune
assets=target/deb-assets
rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions" "$assets/systemd" "$assets/schema"
"$bin" man --dir "$assets/man" >/dev/null
gzip -9n "$assets"/man/*.1
"$bin" completions bash >"$assets/completions/porttune"
"$bin" completions zsh >"$assets/completions/_porttune"
"$bin" completions fish >"$assets/completions/porttune.fish"
for u in examples/porttune-apply.service examples/porttune-textfile@.service \
	examples/porttune-textfile@.timer; do
	sed 's|/usr/local/bin/porttune|/usr/bin/porttune|g' "$u" >"$assets/systemd/${u##*/}"
done
"$bin" schema --dir "$assets/schema" >/dev/null

set -- --no-build --profile "$profile"
[ -n "$output" ] && set -- "$@" --output "$output"
[ -n "$fast" ] && set -- "$@" "$fast"
cargo deb "$@"
