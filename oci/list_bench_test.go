package oci

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/runj-go/runj-go/oci/procs"
	"github.com/runj-go/runj-go/oci/state"
)

// BenchmarkList1000 lists 1000 containers, each with a live init (this
// process) so that every status is computed from the process table, as
// `runj-go list` does: no process is started per container.
func BenchmarkList1000(b *testing.B) {
	store, err := state.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	self, err := procs.Get(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		c, err := store.Create(fmt.Sprintf("c%04d", i))
		if err != nil {
			b.Fatal(err)
		}
		st := c.State()
		st.Bundle, st.Rootfs, st.Created = "/b", "/b/rootfs", time.Now()
		st.InitPID, st.InitStart, st.Started = self.Pid, self.Start, true
		st.Steps = []state.Step{{Kind: stepJail}}
		if err := c.Save(); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	r := &Runtime{Store: store, Log: logrus.New()}
	b.ResetTimer()
	for b.Loop() {
		all, err := r.List()
		if err != nil {
			b.Fatal(err)
		}
		if len(all) != 1000 || all[999].Status != StatusRunning {
			b.Fatalf("listed %d containers, last %+v", len(all), all[len(all)-1])
		}
	}
}
