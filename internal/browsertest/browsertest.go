// Package browsertest starts headless Chromium for the tests of the
// platform's pages.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// commands are the names Chromium goes by, tried in order, as
// `make check-tools` does.
var commands = []string{"chromium", "chromium-browser", "google-chrome"}

// Path returns the path of the Chromium on PATH. It fails tb, saying what
// to install, when there is none.
func Path(tb testing.TB) string {
	tb.Helper()
	for _, name := range commands {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	tb.Fatalf("headless Chromium is needed (looked for %v on PATH): install it with `apt-get install chromium`", commands)
	return ""
}

// Options are the allocator options for a headless Chromium with a window
// of width × height and an empty profile of its own. The flags keep it
// off the network: on a closed network its background connections would
// only fail.
func Options(tb testing.TB, width, height int) []chromedp.ExecAllocatorOption {
	tb.Helper()
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path(tb)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(width, height),
	}
}

// Tab is a tab of a headless Chromium started for one test; it closes
// with the test.
type Tab struct {
	// Ctx runs chromedp actions in the tab.
	Ctx context.Context
	tb  testing.TB
}

// timeout bounds a test's whole browser session: a page that never shows
// what the test waits for fails the test instead of hanging it.
const timeout = 30 * time.Second

// NewTab starts Chromium with a width × height window (Options, plus opts)
// and opens a tab in it.
func NewTab(tb testing.TB, width, height int, opts ...chromedp.ExecAllocatorOption) *Tab {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), timeout)
	tb.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(Options(tb, width, height), opts...)...)
	tb.Cleanup(cancelAlloc)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	tb.Cleanup(cancelTab)
	return &Tab{Ctx: tabCtx, tb: tb}
}

// Fail fails the test at step with err and the page the tab shows.
func (t *Tab) Fail(step string, err error) {
	t.tb.Helper()
	body, _ := chromedp.Run(t.Ctx, chromedp.OuterHTML(chromedp.CSS("body")))
	t.tb.Fatalf("%s: %v\n%s", step, err, body)
}

// Screenshot saves the whole page the tab shows as name in the test's
// artifact directory (go test -artifacts -outputdir DIR keeps it).
func (t *Tab) Screenshot(name string) {
	t.tb.Helper()
	Screenshot(t.Ctx, t.tb, name)
}

// Screenshot saves the whole page that ctx's tab shows, as Tab.Screenshot
// does, for a tab of another browser context.
func Screenshot(ctx context.Context, tb testing.TB, name string) {
	tb.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(tb.ArtifactDir(), name), png, 0o644); err != nil {
		tb.Fatal(err)
	}
}
