// Package browsertest starts headless Chromium for the tests of the
// platform's pages.
package browsertest

import (
	"os/exec"
	"testing"

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
