#!/usr/bin/env bash
# Installs lavapipe (Mesa's software Vulkan driver) so that the WebGPU backend
# (Dawn, through the `webgpu` npm package) has an adapter on a machine without
# a GPU. Idempotent; run as root on Debian.
#
# Debian bookworm's own Mesa (22.3) lavapipe lacks a feature Dawn requires
# (requestAdapter() answers null: "shaderUniform*ArrayDynamicIndexing
# required"); Mesa from `<codename>-backports` works. The backports suite is
# added to the machine's existing Debian source entry, so that it comes from
# whatever mirror that entry already names (no host is named here).
set -euo pipefail

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ -z "$codename" ]; then
  echo "setup-lavapipe: cannot tell the Debian codename from /etc/os-release" >&2
  exit 1
fi
backports="${codename}-backports"

# Already done: a Mesa whose lavapipe Dawn accepts (major version ≥ 23).
installed=$(dpkg-query -W -f='${Status} ${Version}' mesa-vulkan-drivers 2>/dev/null || true)
case "$installed" in
  "install ok installed "*)
    version=${installed#install ok installed }
    version=${version#*:}
    if [ "${version%%.*}" -ge 23 ] 2>/dev/null; then
      echo "setup-lavapipe: mesa-vulkan-drivers $version already installed"
      exit 0
    fi
    ;;
esac

# Adds "$backports" to the Suites of every deb822 entry that lists "$codename"
# (the main archive entry, not the security one, whose suite is
# "$codename-security"). Prints the files changed or already carrying it.
add_suite_deb822() {
  local file=$1
  grep -Eq "^Suites:.*(^|[[:space:]])${codename}([[:space:]]|$)" "$file" || return 1
  if ! grep -Eq "^Suites:.*(^|[[:space:]])${backports}([[:space:]]|$)" "$file"; then
    sed -i -E "/^Suites:/{/(:|[[:space:]])${codename}([[:space:]]|$)/s/[[:space:]]*$/ ${backports}/}" "$file"
    echo "setup-lavapipe: added ${backports} to $file"
  fi
  return 0
}

# One-line format: copies each "deb URI $codename components" line with the
# backports suite, once.
add_suite_oneline() {
  local file=$1
  grep -Eq "^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+[[:space:]]+${codename}[[:space:]]" "$file" || return 1
  if ! grep -Eq "^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+[[:space:]]+${backports}[[:space:]]" "$file"; then
    sed -E -n "s/^(deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+[[:space:]]+)${codename}([[:space:]].*)$/\1${backports}\3/p" "$file" >>"$file"
    echo "setup-lavapipe: added ${backports} to $file"
  fi
  return 0
}

found=0
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && add_suite_deb822 "$f" && found=1
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] && add_suite_oneline "$f" && found=1
done
if [ "$found" -eq 0 ]; then
  echo "setup-lavapipe: no apt source entry for '$codename' found to add ${backports} to" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends -t "$backports" mesa-vulkan-drivers
echo "setup-lavapipe: installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
