package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/runj-go/runj-go/bundle"
	"github.com/runj-go/runj-go/bundle/imagespec"
	"github.com/runj-go/runj-go/bundle/imagetest"
	"github.com/runj-go/runj-go/oci"
)

// runCLI runs the runj-go command line in this process and returns its
// standard output and error.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, _, err := runCLIContext(t, context.Background(), nil, args...)
	return out, err
}

// runCLIContext runs the command line with ctx and, if not nil, hook on
// its logger, and returns its standard output and error.
func runCLIContext(t *testing.T, ctx context.Context, hook logrus.Hook, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	a := newApp()
	var errBuf bytes.Buffer
	a.log.SetOutput(&errBuf)
	if hook != nil {
		a.log.AddHook(hook)
	}
	cmd := a.rootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errBuf)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(ctx)
	a.close()
	return out.String(), errBuf.String(), err
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

// The labels an image may not set are the annotations the runtime obeys,
// every one that 'runj-go features' lists as honoured.
func TestBundleCreate_drops_the_labels_runj_go_obeys(t *testing.T) {
	honoured := strings.Split(oci.Features(version).Annotations["org.freebsd.runj-go.annotations.honoured"], ",")
	if len(honoured) < 2 {
		t.Fatalf("features lists the honoured annotations %q", honoured)
	}
	labels := map[string]string{"org.example": "kept"}
	var want []string
	for _, k := range honoured {
		if strings.HasSuffix(k, ".") {
			k += "raw_sockets" // a prefix: org.freebsd.jail.allow.
		}
		labels[k] = "from the image"
		want = append(want, k)
	}
	slices.Sort(want)
	l := imagetest.New(t, t.TempDir())
	cfg := imagespec.Image{OS: "freebsd", Architecture: runtime.GOARCH,
		Config: imagespec.ImageConfig{Entrypoint: []string{"/app"}, Labels: labels}}
	l.WriteIndex(l.Image(cfg, false, l.Layer(imagetest.Uncompressed, imagetest.Entry{Name: "app"})))
	dir := filepath.Join(t.TempDir(), "b")
	_, stderr, err := runCLIContext(t, context.Background(), nil, "bundle", "create", "--image", l.Dir, dir)
	if err != nil {
		t.Fatalf("bundle create: %v", err)
	}
	b, err := bundle.Load(dir, logrus.New())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range want {
		if v, ok := b.Spec.Annotations[k]; ok {
			t.Errorf("annotation %s = %q, copied from the image's label", k, v)
		}
		if !strings.Contains(stderr, "label="+k+" ") {
			t.Errorf("no warning on stderr names the label %s:\n%s", k, stderr)
		}
	}
	if b.Spec.Annotations["org.example"] != "kept" {
		t.Errorf("annotations %v lack the label org.example", b.Spec.Annotations)
	}
	if got := strings.Count(stderr, "level=warning msg=\"dropping the image label"); got != len(want) {
		t.Errorf("%d warnings, want %d:\n%s", got, len(want), stderr)
	}
}

// cancelOn cancels when the logger logs message.
type cancelOn struct {
	message string
	cancel  context.CancelFunc
}

func (c cancelOn) Levels() []logrus.Level { return logrus.AllLevels }

func (c cancelOn) Fire(e *logrus.Entry) error {
	if e.Message == c.message {
		c.cancel()
	}
	return nil
}

func TestBundleCreate_stopped_leaves_no_bundle(t *testing.T) {
	l := helloImage(t)
	dir := filepath.Join(t.TempDir(), "b")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// What SIGINT does through signal.NotifyContext, at a known moment.
	hook := cancelOn{message: "applying layer 1 of 1", cancel: cancel}
	_, _, err := runCLIContext(t, ctx, hook, "--debug", "bundle", "create", "--image", l.Dir, dir)
	if want := "bundle create: context canceled: stopped; " + dir + " is left as it was"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if _, err := os.Stat(filepath.Dir(dir)); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
