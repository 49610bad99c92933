#!/bin/sh
# make demo: on FreeBSD, run a container; elsewhere, show the plan create
# would execute for the bundle `runj-go spec` writes.
set -eu
runj=$1
dir=$2
rm -rf "$dir"
mkdir -p "$dir/rootfs"
if [ "$(uname -s)" = FreeBSD ]; then
	# The host's own base system as the container's root, so there is no
	# image to download; no mounts, and a command rather than a terminal.
	cat > "$dir/config.json" <<'JSON'
{
	"ociVersion": "1.3.0",
	"process": {
		"user": {"uid": 0, "gid": 0},
		"args": ["/bin/sh", "-c", "echo hello from jail $(hostname), pid $$"],
		"env": ["PATH=/sbin:/bin:/usr/sbin:/usr/bin"],
		"cwd": "/"
	},
	"root": {"path": "/"},
	"hostname": "runj-go-demo",
	"freebsd": {"jail": {"host": "new", "ip4": "inherit", "ip6": "inherit"}}
}
JSON
	exec "$runj" run --bundle "$dir" runj-go-demo
fi
"$runj" spec --bundle "$dir"
echo "runj-go runs containers only on FreeBSD; this host is $(uname -s)."
echo "This is what 'runj-go create' would do for the bundle 'runj-go spec' writes:"
echo
exec "$runj" plan --bundle "$dir" runj-go-demo
