// Package devinfo is how the operator's tools find a running `make dev`:
// wxdev writes a small file into its data folder saying where its store,
// its generated secrets and the WeChat simulator are, and wxctl reads it,
// so that wxctl needs no flags against the dev server. The file stays when
// the server stops: the store and the secrets are still there to read.
package devinfo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FileName is the file's name inside the data folder.
const FileName = "wxdev.json"

// Info is what the file holds. Paths are absolute.
type Info struct {
	PlatformURL  string `json:"platform_url"`
	SimulatorURL string `json:"simulator_url,omitempty"` // empty with real WeChat credentials
	Store        string `json:"store"`
	// Secrets is the generated settings file of the simulated component;
	// empty with real WeChat credentials.
	Secrets string `json:"secrets,omitempty"`
}

// Write stores info in dataDir, readable by its owner only, replacing the
// file atomically so that a reader never sees half of it.
func Write(dataDir string, info Info) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dataDir, FileName+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", FileName, err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", FileName, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dataDir, FileName)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", FileName, err)
	}
	return nil
}

// Read returns the info in dataDir; an error wrapping fs.ErrNotExist when
// no dev server ever ran there.
func Read(dataDir string) (Info, error) {
	var info Info
	b, err := os.ReadFile(filepath.Join(dataDir, FileName))
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("%s: %w", filepath.Join(dataDir, FileName), err)
	}
	if info.Store == "" {
		return info, fmt.Errorf("%s names no store", filepath.Join(dataDir, FileName))
	}
	return info, nil
}
