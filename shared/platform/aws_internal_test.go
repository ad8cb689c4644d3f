package platform

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/smithy-go/logging"
)

// TestSDKLogLinesAreJSON: the SDK's own warnings come out as the functions'
// other lines do, one JSON object each.
func TestSDKLogLinesAreJSON(t *testing.T) {
	var buf bytes.Buffer
	l := sdkLogger(slog.New(slog.NewJSONHandler(&buf, nil)))
	l.Logf(logging.Warn, "failed to close HTTP response body, this may affect connection reuse: %v", "checksum")
	l.Logf(logging.Debug, "retrying request %d", 2)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("SDK log output is not one JSON line: %v\n%s", err, buf.Bytes())
	}
	if line["level"] != "WARN" || line["msg"] != "aws sdk" ||
		line["detail"] != "failed to close HTTP response body, this may affect connection reuse: checksum" {
		t.Errorf("SDK warning logged as %v", line)
	}
}
