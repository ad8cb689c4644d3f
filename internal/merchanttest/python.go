package merchanttest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// VerifyScript is the documented Python snippet that checks an identity.
func VerifyScript(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "examples", "oauth", "verify_identity.py")
}

// PythonVerify runs the documented Python snippet on an identity with the
// state secret at the time at, and returns the identity it printed or the
// reason it refused it.
func PythonVerify(tb testing.TB, stateSecret, token string, at time.Time) (map[string]any, error) {
	tb.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		tb.Fatal("python3 is needed to test the documented snippet: install python3")
	}
	cmd := exec.Command("python3", VerifyScript(tb), token)
	cmd.Env = append(os.Environ(), "WX_STATE_SECRET="+stateSecret, fmt.Sprintf("WX_NOW=%d", at.Unix()))
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, errors.New(strings.TrimSpace(string(ee.Stderr)))
		}
		tb.Fatal(err)
	}
	var id map[string]any
	if err := json.Unmarshal(out, &id); err != nil {
		tb.Fatalf("snippet output %q: %v", out, err)
	}
	return id, nil
}
