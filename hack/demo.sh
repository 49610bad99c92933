#!/bin/sh
# make demo: builds examples/hello, a small HTTP server, as a static
# FreeBSD binary; packs it into an OCI image layout with examples/mkimage;
# turns the image into a bundle with `runj-go bundle create`; then, on
# FreeBSD, runs it with `runj-go run`, asks it for a page and stops it, and
# elsewhere prints the plan `runj-go create` would execute. Nothing is
# downloaded.
#
#   hack/demo.sh RUNJ_GO DIR [plan]
#
# With "plan" it stops at the plan on FreeBSD too: `make test` runs that.
set -eu
runj=$1
dir=$2
mode=${3:-run}
go=${GO:-go}
arch=$($go env GOHOSTARCH)
id=runj-go-demo
port=8080

rm -rf "$dir"
mkdir -p "$dir"
echo "== go build examples/hello for freebsd/$arch"
CGO_ENABLED=0 GOOS=freebsd GOARCH=$arch $go build -trimpath -o "$dir/hello" ./examples/hello
echo "== examples/mkimage: pack it into the OCI image layout $dir/image"
$go run ./examples/mkimage -binary "$dir/hello" -o "$dir/image" -tag latest \
	-os freebsd -arch "$arch" -port $port/tcp -- -addr :$port
echo "== runj-go bundle create --image $dir/image:latest $dir/bundle"
"$runj" bundle create --image "$dir/image:latest" "$dir/bundle"

if [ "$(uname -s)" != FreeBSD ] || [ "$mode" = plan ]; then
	if [ "$(uname -s)" != FreeBSD ]; then
		echo "runj-go runs containers only on FreeBSD; this host is $(uname -s)."
	fi
	echo "== runj-go plan: what 'runj-go run' would do with this bundle"
	exec "$runj" plan --bundle "$dir/bundle" "$id"
fi

if [ "$(id -u)" != 0 ]; then
	echo "creating a jail needs root: run 'make demo' as root" >&2
	exit 1
fi
# The container shares the host's network (the default ip4 inherit), so
# the server answers on the host's port. Its jail, mounts and process are
# removed again however the script ends.
trap '"$runj" delete --force "$id" 2>/dev/null || true' EXIT
echo "== runj-go run --detach --bundle $dir/bundle $id"
"$runj" run --detach --bundle "$dir/bundle" "$id"
url=http://127.0.0.1:$port/
page=
for _ in 1 2 3 4 5 6 7 8 9 10; do
	if page=$(fetch -qo - "$url" 2>/dev/null); then
		break
	fi
	sleep 0.5
done
echo "== fetch -o - $url"
echo "${page:?the container did not answer on $url}"
echo "== runj-go kill $id TERM; runj-go delete $id"
"$runj" kill "$id" TERM
for _ in 1 2 3 4 5 6 7 8 9 10; do
	if "$runj" state "$id" | grep -q '"status": "stopped"'; then
		break
	fi
	sleep 0.5
done
"$runj" delete "$id"
trap - EXIT
echo "done: the image ran as a jail and is gone again."
