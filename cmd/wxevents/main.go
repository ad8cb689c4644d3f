// Command wxevents writes the sample events of events/: for each function,
// the JSON document Lambda passes it (API Gateway HTTP API requests with
// valid signatures and ciphertexts, the refresh schedule's input), and
// env.json for `sam local invoke --env-vars`.
//
// The samples are signed with public sample secrets (package samples), so
// only a platform configured with those accepts them. Run it after changing
// the samples; a test checks that events/ matches its output.
//
// Usage:
//
//	go run ./cmd/wxevents [-out events] [-time 2026-01-01T00:00:00Z|now]
//
// -time moves the samples' timestamps: the authorization-code state in the
// callback sample expires an hour after the start page, and a ticket twelve
// hours after it was pushed, so a platform on the real clock needs samples
// made -time now.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wxcomponent/wxcomponent/cmd/wxevents/samples"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, time.Now); err != nil {
		fmt.Fprintln(os.Stderr, "wxevents:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer, now func() time.Time) error {
	fs := flag.NewFlagSet("wxevents", flag.ContinueOnError)
	out := fs.String("out", "events", "directory to write the samples to")
	at := fs.String("time", samples.Start().Format(time.RFC3339), `when the samples start (RFC 3339, or "now")`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	start := now()
	if *at != "now" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return fmt.Errorf("-time: %w", err)
		}
		start = t
	}
	files, err := samples.Files(start.Truncate(time.Second))
	if err != nil {
		return err
	}
	if err := write(*out, files); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d files to %s\n", len(files), *out)
	return nil
}

// write puts files into dir and removes the .json files there that are no
// longer samples.
func write(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	var errs []error
	for _, path := range old {
		if _, ok := files[filepath.Base(path)]; !ok {
			errs = append(errs, os.Remove(path))
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if strings.ContainsAny(name, `/\`) {
			return fmt.Errorf("sample name %q is not a file name", name)
		}
		errs = append(errs, os.WriteFile(filepath.Join(dir, name), files[name], 0o644))
	}
	return errors.Join(errs...)
}
