// Command hello is the container of `make demo`: a small HTTP server that
// says hello from the jail it runs in. It is built as a static FreeBSD
// binary (CGO_ENABLED=0 GOOS=freebsd) and is the only program in its image.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", ":8080", "address to listen on")
	flag.Parse()
	srv := &http.Server{Addr: *addr, Handler: handler(os.Hostname), ReadHeaderTimeout: 10 * time.Second}

	// SIGTERM (runj-go kill's default) and SIGINT end it cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("hello: listening on %s", *addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	log.Print("hello: stopped")
}

// handler answers every request with the host name, which in a jail is the
// jail's own (config.json's hostname), and who it runs as.
func handler(hostname func() (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, err := hostname()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello from %s (pid %d, uid %d)\n", name, os.Getpid(), os.Getuid())
	})
}
