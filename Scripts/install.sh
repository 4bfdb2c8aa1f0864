#!/usr/bin/env bash
# Builds AppLinks and installs it under PREFIX (default /usr/local), where it runs without the checkout:
#   PREFIX/bin/applinks, PREFIX/bin/applinks-plugin-runner
#   PREFIX/lib/applinks/plugins/libAppLinksLinkType*.so   the bundled link types, found from the executable
#   PREFIX/share/applinks/Web/                            the admin pages' templates, stylesheet and script
#   PREFIX/share/applinks/BUILD                           the version and the git commit, for `applinks --version`
#   PREFIX/share/man/man1/applinks*.1                     a man page for each command, from its own help
# Every installed file is writable by its owner only (root, when run as root).
#
#   bash Scripts/install.sh [--prefix DIR] [--configuration release|debug] [--no-build] [--bin-path DIR]
#
# --no-build installs what the last `swift build -c CONFIGURATION` left, without building; --bin-path names
# that build's products directory (default: `swift build --show-bin-path`). The man pages are then those the last
# `swift package generate-manual --multi-page` made.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local
configuration=release
build=yes
bin=
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --configuration) configuration="$2"; shift 2 ;;
    --no-build) build=no; shift ;;
    --bin-path) bin="$2"; shift 2 ;;
    *) echo "install.sh: unknown option $1 (use --prefix DIR, --configuration release|debug, --no-build)" >&2; exit 2 ;;
  esac
done
case "$configuration" in release|debug) ;; *) echo "install.sh: --configuration is release or debug" >&2; exit 2 ;; esac

products=(applinks applinks-plugin-runner AppLinksLinkTypeAtlassianOAuth1 AppLinksLinkTypeOAuth2Incoming
  AppLinksLinkTypeOAuth2Outgoing AppLinksLinkTypeJenkins)
if [ "$build" = yes ]; then
  for product in "${products[@]}"; do swift build -c "$configuration" --product "$product"; done
  swift package generate-manual --multi-page --configuration "$configuration" >/dev/null
fi
manuals=.build/plugins/GenerateManual/outputs/applinks
[ -n "$bin" ] || bin=$(swift build -c "$configuration" --show-bin-path)
for f in applinks applinks-plugin-runner; do
  [ -x "$bin/$f" ] || { echo "install.sh: $bin/$f is missing; build first, or drop --no-build" >&2; exit 1; }
done

umask 022
install -d -m 0755 "$prefix/bin" "$prefix/lib/applinks/plugins" "$prefix/share/applinks"
install -m 0755 "$bin/applinks" "$bin/applinks-plugin-runner" "$prefix/bin/"
rm -f "$prefix"/lib/applinks/plugins/libAppLinksLinkType*.so
install -m 0644 "$bin"/libAppLinksLinkType*.so "$prefix/lib/applinks/plugins/"
rm -rf "$prefix/share/applinks/Web"
cp -R Sources/AppLinksServer/Web "$prefix/share/applinks/Web"
find "$prefix/share/applinks/Web" -type d -exec chmod 0755 {} + && find "$prefix/share/applinks/Web" -type f -exec chmod 0644 {} +
if [ -f "$manuals/applinks.1" ]; then
  install -d -m 0755 "$prefix/share/man/man1"
  rm -f "$prefix"/share/man/man1/applinks*.1
  install -m 0644 "$manuals"/applinks*.1 "$prefix/share/man/man1/"
else
  echo "install.sh: no man pages to install: run without --no-build, or swift package generate-manual --multi-page first" >&2
fi
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit+changes"; fi
printf 'commit %s\nconfiguration %s\n' "$commit" "$configuration" > "$prefix/share/applinks/BUILD"
chmod 0644 "$prefix/share/applinks/BUILD"
echo "Installed AppLinks ($("$prefix/bin/applinks" --version)) in $prefix."
echo "Start it with: APPLINKS_HOME=/var/lib/applinks $prefix/bin/applinks serve"
