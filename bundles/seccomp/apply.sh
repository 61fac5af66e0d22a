#!/bin/sh
# Puts Docker's default seccomp profile into a bundle's config.json as linux.seccomp.
#
#   bundles/seccomp/apply.sh BUNDLE_DIR
#
# docker-default.json is moby's profiles/seccomp/default.json resolved the way dockerd resolves it
# for an x86_64 host and Docker's default capability set (no CAP_SYS_ADMIN): default action
# ERRNO(EPERM); the allow-list; socket without AF_VSOCK; personality only for the five personas
# Docker allows; clone only without namespace flags (mask 0x7E020000); clone3 answered with
# ENOSYS so that libcs fall back to clone; chroot (CAP_SYS_CHROOT is a default capability).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bundle=${1:?usage: $0 BUNDLE_DIR}
config="$bundle/config.json"
tmp="$config.seccomp.$$"
jq --slurpfile p "$here/docker-default.json" '.linux.seccomp = $p[0]' "$config" >"$tmp"
mv "$tmp" "$config"
