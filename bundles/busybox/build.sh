#!/usr/bin/env bash
# Builds the sample busybox bundle next to this script:
#   rootfs/       /bin/busybox + one symlink per applet, /etc/{passwd,group,hostname}
#                 (same layout as the integration tests' rootfs, tests/common/mod.rs)
#   config.json   `hull spec` with args set to the sample command, terminal false
#
# Usage: bundles/busybox/build.sh [--hull PATH]   (default: target/<triple>/release/hull,
#        then target/<triple>/debug/hull, then hull from PATH). Rebuilds from scratch.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
hull=
while [ $# -gt 0 ]; do
    case $1 in
    --hull) hull=$2; shift 2 ;;
    *) echo "usage: $0 [--hull PATH]" >&2; exit 2 ;;
    esac
done
if [ -z "$hull" ]; then
    t=$repo/target/x86_64-unknown-linux-gnu
    for c in "$t/release/hull" "$t/debug/hull" "$(command -v hull || true)"; do
        if [ -n "$c" ] && [ -x "$c" ]; then hull=$c; break; fi
    done
fi
[ -n "$hull" ] || { echo "build.sh: no hull binary (cargo build first, or --hull PATH)" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "build.sh: /bin/busybox missing (apt-get install busybox-static)" >&2; exit 1; }

rootfs=$here/rootfs
rm -rf "$rootfs" "$here/config.json"
mkdir -p "$rootfs"
cd "$rootfs"
mkdir -p -m 0755 bin sbin usr/bin usr/sbin etc proc sys dev root home/user var/run var/tmp run mnt opt
mkdir -p -m 1777 tmp
chmod 0700 root
chown 1000:1000 home/user
install -m 0755 /bin/busybox bin/busybox
for applet in $(/bin/busybox --list); do
    case $applet in busybox | */*) continue ;; esac
    ln -s busybox "bin/$applet"
done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
    'user:x:1000:1000:user:/home/user:/bin/sh' \
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >etc/passwd
printf '%s\n' 'root:x:0:' 'wheel:x:10:' 'users:x:100:' 'user:x:1000:' 'nogroup:x:65534:' >etc/group
echo hull >etc/hostname
printf '127.0.0.1\tlocalhost\n' >etc/hosts
: >etc/resolv.conf
chmod 0644 etc/passwd etc/group etc/hostname etc/hosts etc/resolv.conf

"$hull" spec -b "$here"
# Edit process.args and process.terminal in place. perl is always there on
# Debian (perl-base is essential); jq/python may not be.
cfg=$here/config.json
perl -0pi -e '
    s{"args"\s*:\s*\[[^\]]*\]}{"args": [
            "sh",
            "-c",
            "echo hello from hull; cat /proc/self/status | grep -E \\"^(Name|Pid|Uid)\\"; hostname"
        ]}s or die "no process.args in config.json\n";
    s{"terminal"\s*:\s*true}{"terminal": false} or die "no process.terminal in config.json\n";
' "$cfg"
echo "built $here (rootfs + config.json)"
