package imagespec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The files under testdata/ are the examples of image-spec v1.1.1
// (manifest.md, image-index.md, config.md, image-layout.md), copied
// verbatim. Decoding each with unknown fields refused and encoding it
// again must give back the same JSON: then every field the examples use
// has the JSON name the specification gives it.
func TestTypes_round_trip_the_specification_examples(t *testing.T) {
	tests := []struct {
		file string
		into any
	}{
		{"oci-layout", &Layout{}},
		{"manifest.json", &Manifest{}},
		{"index.json", &Index{}},
		{"layout-index.json", &Index{}},
		{"config.json", &Image{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, data, tt.into)
		})
	}
}

// Fields the examples leave out, each given once.
func TestTypes_round_trip_every_optional_field(t *testing.T) {
	tests := []struct {
		name string
		json string
		into any
	}{
		{
			name: "descriptor",
			json: `{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
				"size": 2, "urls": ["https://example.com/m"], "annotations": {"a": "b"}, "data": "e30=",
				"platform": {"architecture": "arm", "os": "freebsd", "os.version": "14.2", "os.features": ["x"], "variant": "v7"},
				"artifactType": "application/example"}`,
			into: &Descriptor{},
		},
		{
			name: "image configuration",
			json: `{"created": "2025-01-02T03:04:05Z", "author": "a", "architecture": "arm64", "os": "freebsd", "os.version": "14.2",
				"os.features": ["f"], "variant": "v8",
				"config": {"User": "www:www", "ExposedPorts": {"80/tcp": {}}, "Env": ["A=b"], "Entrypoint": ["/e"], "Cmd": ["c"],
					"Volumes": {"/v": {}}, "WorkingDir": "/w", "Labels": {"l": "v"}, "StopSignal": "SIGINT", "ArgsEscaped": true},
				"rootfs": {"type": "layers", "diff_ids": []},
				"history": [{"created": "2025-01-02T03:04:05Z", "created_by": "x", "author": "y", "comment": "z", "empty_layer": true}]}`,
			into: &Image{},
		},
		{
			name: "index with subject and artifact type",
			json: `{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "artifactType": "application/example",
				"manifests": [], "subject": {"mediaType": "m", "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270", "size": 1}}`,
			into: &Index{},
		},
		{
			name: "manifest with artifact type",
			json: `{"schemaVersion": 2, "artifactType": "application/example",
				"config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2},
				"layers": []}`,
			into: &Manifest{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { roundTrip(t, []byte(tt.json), tt.into) })
	}
}

func roundTrip(t *testing.T, data []byte, into any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("decode: %v", err)
	}
	again, err := json.Marshal(into)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("encoded again:\n%s\nwant the same as:\n%s", again, data)
	}
}
