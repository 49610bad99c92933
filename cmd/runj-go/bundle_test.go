package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/runj-go/runj-go/bundle/imagespec"
	"github.com/runj-go/runj-go/bundle/imagetest"
)

// runCLI runs the runj-go command line in this process and returns its
// standard output and error.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	a := newApp()
	var stderr bytes.Buffer
	a.log.SetOutput(&stderr)
	cmd := a.rootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&stderr)
	cmd.SetArgs(args)
	err := cmd.Execute()
	a.close()
	return out.String(), err
}

// helloImage writes a layout with the image "hello" for FreeBSD on this
// architecture and one for linux/amd64, both tagged latest.
func helloImage(t *testing.T) *imagetest.Layout {
	t.Helper()
	l := imagetest.New(t, t.TempDir())
	layer := l.Layer(imagetest.Gzip,
		imagetest.Entry{Name: "etc/"},
		imagetest.Entry{Name: "etc/passwd", Body: "root:*:0:0::/root:/bin/sh\nwww:*:80:80::/nonexistent:/usr/sbin/nologin\n"},
		imagetest.Entry{Name: "etc/group", Body: "wheel:*:0:root\nwww:*:80:\n"},
		imagetest.Entry{Name: "hello", Body: "#!/bin/sh\necho hello\n", Mode: 0o755},
	)
	cfg := func(os, arch string) imagespec.Image {
		return imagespec.Image{OS: os, Architecture: arch, Config: imagespec.ImageConfig{
			User: "www", Entrypoint: []string{"/hello"}, Cmd: []string{"--port", "8080"},
			Env: []string{"PATH=/bin", "GREETING=hi"}, WorkingDir: "/tmp", StopSignal: "SIGINT",
			ExposedPorts: map[string]struct{}{"8080/tcp": {}}, Labels: map[string]string{"org.example": "demo"},
		}}
	}
	l.WriteIndex(imagetest.Tagged(l.Index(
		l.Image(cfg("linux", "amd64"), false, layer),
		l.Image(cfg("freebsd", runtime.GOARCH), false, layer),
	), "latest"))
	return l
}

func TestBundleCreate_makes_a_bundle_that_plan_shows(t *testing.T) {
	l := helloImage(t)
	dir := filepath.Join(t.TempDir(), "hello")
	out, err := runCLI(t, "bundle", "create", "--image", l.Dir+":latest", dir)
	if err != nil {
		t.Fatalf("bundle create: %v", err)
	}
	if want := "created bundle " + dir + " from " + l.Dir + ":latest (manifest sha256:"; !strings.HasPrefix(out, want) ||
		!strings.HasSuffix(out, ", freebsd/"+runtime.GOARCH+")\n") {
		t.Errorf("output %q, want %q… freebsd/%s)", out, want, runtime.GOARCH)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "rootfs", "hello")); err != nil || !strings.HasPrefix(string(data), "#!/bin/sh") {
		t.Errorf("rootfs/hello: %q, %v", data, err)
	}

	out, err = runCLI(t, "plan", "--bundle", dir, "--format", "json", "hello")
	if err != nil {
		t.Fatalf("plan of the new bundle: %v", err)
	}
	var plan struct {
		Process struct {
			Args []string
			Env  []string
			Cwd  string
			User struct{ UID, GID uint32 }
		}
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("plan output: %v\n%s", err, out)
	}
	p := plan.Process
	if strings.Join(p.Args, " ") != "/hello --port 8080" || strings.Join(p.Env, " ") != "PATH=/bin GREETING=hi" ||
		p.Cwd != "/tmp" || p.User.UID != 80 || p.User.GID != 80 {
		t.Errorf("plan process = %+v", p)
	}

	_, err = runCLI(t, "bundle", "create", "--image", l.Dir+":latest", dir)
	if want := "bundle directory is not empty: " + dir + " (it has config.json, rootfs); use --force to replace its contents"; err == nil || err.Error() != want {
		t.Errorf("second create without --force: %v\nwant %s", err, want)
	}
	if _, err := runCLI(t, "bundle", "create", "--force", "--image", l.Dir+":latest", dir); err != nil {
		t.Errorf("second create with --force: %v", err)
	}
}

func TestBundleCreate_platform(t *testing.T) {
	l := helloImage(t)
	_, err := runCLI(t, "bundle", "create", "--platform", "freebsd/riscv64", "--image", l.Dir, filepath.Join(t.TempDir(), "b"))
	if want := "has no manifest for freebsd/riscv64; it has linux/amd64, freebsd/" + runtime.GOARCH; err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error %v, want one ending in %q", err, want)
	}
	dir := filepath.Join(t.TempDir(), "b")
	out, err := runCLI(t, "bundle", "create", "--platform=linux/amd64", "--image="+l.Dir, dir)
	if err != nil || !strings.HasSuffix(out, ", linux/amd64)\n") {
		t.Fatalf("create for linux/amd64: %q, %v", out, err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if !strings.Contains(string(data), `"org.opencontainers.image.os": "linux"`) {
		t.Errorf("config.json is not the linux image's:\n%s", data)
	}
}

func TestBundleCreate_flag_errors(t *testing.T) {
	l := helloImage(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"bundle", "create", "b"}, "bundle create: --image is required"},
		{[]string{"bundle", "create", "--image", l.Dir}, "create: expects 1 argument(s) (bundle directory), got 0"},
		{[]string{"bundle", "create", "--image", l.Dir, "a", "b"}, "create: expects 1 argument(s) (bundle directory), got 2"},
		{[]string{"bundle", "create", "--image", l.Dir + "@sha256:12", "b"}, `--image: image "` + l.Dir + `@sha256:12": digest "sha256:12": sha256 wants 64 lowercase hex digits`},
		{[]string{"bundle", "create", "--image", l.Dir, "--platform", "freebsd", "b"}, `--platform: platform "freebsd" is not OS/ARCH or OS/ARCH/VARIANT`},
		{[]string{"bundle", "create", "--image", l.Dir + ":nope", "b"}, `image layout ` + l.Dir + ` has no image tagged "nope" (it has latest)`},
	}
	for _, tt := range tests {
		if _, err := runCLI(t, tt.args...); err == nil || err.Error() != tt.want {
			t.Errorf("runj-go %q: error %v\nwant %s", tt.args, err, tt.want)
		}
	}
}

func TestBundleCreate_failure_exits_1_and_leaves_no_bundle(t *testing.T) {
	l := helloImage(t)
	dir := filepath.Join(t.TempDir(), "b")
	if status := run([]string{"bundle", "create", "--image", l.Dir, "--platform", "freebsd/mips", dir}); status != 1 {
		t.Errorf("exit status %d, want 1", status)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("bundle directory after a failure: %v", err)
	}
}
