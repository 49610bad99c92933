package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func TestHandler_says_hello_with_the_host_name(t *testing.T) {
	rec := httptest.NewRecorder()
	handler(func() (string, error) { return "runj-go", nil }).ServeHTTP(rec, httptest.NewRequest("GET", "/anything", nil))
	want := fmt.Sprintf("hello from runj-go (pid %d, uid %d)\n", os.Getpid(), os.Getuid())
	if rec.Code != http.StatusOK || rec.Body.String() != want {
		t.Errorf("got %d %q, want 200 %q", rec.Code, rec.Body, want)
	}
}

func TestHandler_reports_a_host_name_error(t *testing.T) {
	rec := httptest.NewRecorder()
	handler(func() (string, error) { return "", errors.New("no name") }).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != "no name\n" {
		t.Errorf("got %d %q", rec.Code, rec.Body)
	}
}
