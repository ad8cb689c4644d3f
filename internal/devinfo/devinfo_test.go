package devinfo_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/wxcomponent/wxcomponent/internal/devinfo"
)

func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	if _, err := devinfo.Read(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read of a folder no dev server used: %v, want fs.ErrNotExist", err)
	}
	want := devinfo.Info{PlatformURL: "http://127.0.0.1:8080", SimulatorURL: "http://127.0.0.1:8081",
		Store: "/srv/data/wxcomponent.db", Secrets: "/srv/data/dev-secrets.env"}
	if err := devinfo.Write(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := devinfo.Read(dir)
	if err != nil || got != want {
		t.Fatalf("Read = %+v, %v; want %+v", got, err, want)
	}
	fi, err := os.Stat(filepath.Join(dir, devinfo.FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, %v; want -rw------- (it names where the secrets are)", fi.Mode(), err)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "*")); len(names) != 1 {
		t.Errorf("files left in the data folder: %q", names)
	}
}

func TestReadRejectsBadFiles(t *testing.T) {
	for name, content := range map[string]string{
		"not JSON":      "platform_url=x",
		"without store": `{"platform_url": "http://127.0.0.1:8080"}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, devinfo.FileName), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := devinfo.Read(dir); err == nil || errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Read: %v, want an error naming the file", err)
			}
		})
	}
}
