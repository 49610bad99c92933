// Package bundle loads and validates OCI bundles: a directory holding
// config.json and the container's root filesystem.
package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// ConfigFile is the name of the configuration file inside a bundle.
const ConfigFile = "config.json"

// maxConfigSize bounds how much of config.json is read: a spec is a few
// kilobytes, and a runaway file must not exhaust memory.
const maxConfigSize = 16 << 20

// Bundle is a loaded and validated OCI bundle.
type Bundle struct {
	// Path is the absolute bundle directory.
	Path string
	// Spec is the decoded config.json.
	Spec *specs.Spec
	// Root is the absolute root filesystem path (root.path resolved
	// against Path).
	Root string
	// AllowSet holds the freebsd.jail.allow booleans that config.json
	// states explicitly, by JSON name. specs-go cannot tell an absent
	// boolean from false, and allow.suser defaults to true.
	AllowSet map[string]bool
}

// Load reads dir/config.json, resolves the root filesystem and validates the
// spec. Every validation failure is reported at once as Errors.
func Load(dir string, log logrus.FieldLogger) (*Bundle, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	f, err := os.Open(filepath.Join(abs, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", abs, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("bundle %s: read %s: %w", abs, ConfigFile, err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("bundle %s: %s is larger than %d bytes", abs, ConfigFile, maxConfigSize)
	}
	b, err := Parse(data, abs, log)
	if err != nil {
		return nil, err
	}
	if err := checkRoot(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Parse decodes and validates config.json data for a bundle at the absolute
// path dir, without touching the filesystem.
func Parse(data []byte, dir string, log logrus.FieldLogger) (*Bundle, error) {
	var spec specs.Spec
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&spec); err != nil {
		return nil, describeJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: unexpected data after the top-level object", ConfigFile)
	}
	allow, err := explicitAllow(data)
	if err != nil {
		return nil, describeJSONError(err)
	}
	if err := Validate(&spec, log); err != nil {
		return nil, err
	}
	b := &Bundle{Path: dir, Spec: &spec, AllowSet: allow}
	b.Root = spec.Root.Path
	if !filepath.IsAbs(b.Root) {
		b.Root = filepath.Join(dir, b.Root)
	}
	b.Root = filepath.Clean(b.Root)
	return b, nil
}

// explicitAllow returns the booleans present under freebsd.jail.allow. It
// decodes into pointers with the tags of specs.FreeBSDJailAllow, so that
// keys match exactly as they do for the spec (encoding/json matches them
// case-insensitively) and null counts as absent, as it does for the spec.
func explicitAllow(data []byte) (map[string]bool, error) {
	var raw struct {
		FreeBSD *struct {
			Jail *struct {
				Allow *struct {
					SetHostname   *bool `json:"setHostname"`
					RawSockets    *bool `json:"rawSockets"`
					Chflags       *bool `json:"chflags"`
					Quotas        *bool `json:"quotas"`
					SocketAf      *bool `json:"socketAf"`
					Mlock         *bool `json:"mlock"`
					ReservedPorts *bool `json:"reservedPorts"`
					Suser         *bool `json:"suser"`
				} `json:"allow"`
			} `json:"jail"`
		} `json:"freebsd"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	if raw.FreeBSD == nil || raw.FreeBSD.Jail == nil || raw.FreeBSD.Jail.Allow == nil {
		return set, nil
	}
	a := raw.FreeBSD.Jail.Allow
	for name, v := range map[string]*bool{
		"setHostname": a.SetHostname, "rawSockets": a.RawSockets, "chflags": a.Chflags,
		"quotas": a.Quotas, "socketAf": a.SocketAf, "mlock": a.Mlock,
		"reservedPorts": a.ReservedPorts, "suser": a.Suser,
	} {
		if v != nil {
			set[name] = *v
		}
	}
	return set, nil
}

// describeJSONError names the field of a type error; a FieldError already
// names config.json, anything else gets it as a prefix.
func describeJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return Fieldf(te.Field, "cannot use JSON %s as %s", te.Value, te.Type)
	}
	return fmt.Errorf("%s: %w", ConfigFile, err)
}

func checkRoot(b *Bundle) error {
	st, err := os.Stat(b.Root)
	if err != nil {
		return Fieldf("root.path", "%q: %v", b.Spec.Root.Path, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return Fieldf("root.path", "%q is not a directory", b.Spec.Root.Path)
	}
	return nil
}
