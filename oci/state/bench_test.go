package state

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkLoad1000 is `runj-go list` over 1000 containers: list the root
// and load every state.
func BenchmarkLoad1000(b *testing.B) {
	s := newStore(b)
	// A config.json the size of a typical one, a few KiB.
	config, err := json.Marshal(map[string]any{
		"ociVersion": "1.3.0",
		"process":    map[string]any{"args": []string{"/bin/sh"}, "env": []string{strings.Repeat("X", 2000)}},
		"root":       map[string]any{"path": "rootfs"},
	})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		c := mustCreate(b, s, fmt.Sprintf("c%04d", i))
		st := c.State()
		st.Bundle = "/bundles/" + c.ID()
		st.Config = config
		for _, kind := range []string{"jail", "mount", "mount", "mount", "address"} {
			st.Steps = append(st.Steps, Step{Kind: kind, Data: json.RawMessage(`{"target":"/x"}`)})
		}
		if err := c.Save(); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	for b.Loop() {
		ids, err := s.List()
		if err != nil {
			b.Fatal(err)
		}
		if len(ids) != 1000 {
			b.Fatalf("List found %d containers, want 1000", len(ids))
		}
		for _, id := range ids {
			if _, err := s.Load(id); err != nil {
				b.Fatal(err)
			}
		}
	}
}
