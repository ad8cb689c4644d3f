package deploytest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestSharedLinksOnlyTheProduct checks that shared/, the library a Lambda
// links, holds only the product: no package under it depends, directly or
// through another package, on the testing packages or the repository's
// test kits (internal/), outside its _test.go files.
func TestSharedLinksOnlyTheProduct(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on PATH: %v", err)
	}
	root := repoRoot(t)
	const module = "github.com/wxcomponent/wxcomponent/"
	forbidden := func(dep string) bool {
		return dep == "testing" || strings.HasPrefix(dep, "testing/") || dep == "net/http/httptest" ||
			strings.HasPrefix(dep, module+"internal/")
	}
	// -deps lists, for every package, everything it imports transitively,
	// without test files.
	cmd := exec.CommandContext(t.Context(), goBin, "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`,
		"./shared/...", "./functions/...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		checked++
		for _, dep := range fields[1:] {
			if forbidden(dep) {
				t.Errorf("%s depends on %s outside its tests", fields[0], dep)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("go list listed %d packages, want every package under shared/ and functions/", checked)
	}
}
