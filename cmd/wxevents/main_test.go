package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/cmd/wxevents/samples"
)

// TestCommittedEventsAreCurrent checks that events/ holds exactly what
// wxevents writes, so the committed samples stay valid (package samples'
// tests feed that output to the functions).
func TestCommittedEventsAreCurrent(t *testing.T) {
	want, err := samples.Files(samples.Start())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "events")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := want[e.Name()]; !ok {
			t.Errorf("events/%s is not a sample", e.Name())
		} else if !bytes.Equal(data, w) {
			t.Errorf("events/%s differs from what wxevents writes", e.Name())
		}
	}
	for name := range want {
		if !slices.Contains(got, name) {
			t.Errorf("events/%s is missing", name)
		}
	}
	if t.Failed() {
		t.Log("run `go run ./cmd/wxevents` to write the samples")
	}
}

func TestRun(t *testing.T) {
	now := func() time.Time { return time.Date(2027, 3, 4, 5, 6, 7, 890, time.UTC) }
	tests := []struct {
		name    string
		args    []string
		start   time.Time
		wantErr string
	}{
		{"default", nil, samples.Start(), ""},
		{"now", []string{"-time", "now"}, now().Truncate(time.Second), ""},
		{"RFC 3339", []string{"-time", "2026-06-01T08:00:00+08:00"}, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), ""},
		{"bad time", []string{"-time", "yesterday"}, time.Time{}, "-time"},
		{"argument", []string{"extra"}, time.Time{}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stale := filepath.Join(dir, "renamed-sample.json")
			keep := filepath.Join(dir, "notes.txt")
			for _, f := range []string{stale, keep} {
				if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			err := run(append([]string{"-out", dir}, tt.args...), &out, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := samples.Files(tt.start)
			if err != nil {
				t.Fatal(err)
			}
			for name, data := range want {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("%s: %v, or differs from samples.Files", name, err)
				}
			}
			if _, err := os.Stat(stale); !os.IsNotExist(err) {
				t.Errorf("stale sample not removed: %v", err)
			}
			if _, err := os.Stat(keep); err != nil {
				t.Errorf("a file that is no sample was touched: %v", err)
			}
		})
	}
}
