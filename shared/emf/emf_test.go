package emf_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/emf"
)

func TestWrite(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		stage    string
		wantDims string
	}{
		{"no stage", "", `[[]]`},
		{"stage", "prod", `[["Stage"]]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := emf.Write(&buf, at, tt.stage, map[string]any{"AuthorizerAppID": "wxacct"},
				emf.Metric{Name: "CustomerMoved", Unit: "Count", Value: 1})
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
				t.Fatalf("not one line: %q", buf.String())
			}
			var doc struct {
				CustomerMoved   float64
				AuthorizerAppID string
				Stage           string
				AWS             struct {
					Timestamp         int64
					CloudWatchMetrics []struct {
						Namespace  string
						Dimensions json.RawMessage
						Metrics    []struct{ Name, Unit string }
					}
				} `json:"_aws"`
			}
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			d := doc.AWS.CloudWatchMetrics
			if doc.CustomerMoved != 1 || doc.AuthorizerAppID != "wxacct" || doc.Stage != tt.stage ||
				doc.AWS.Timestamp != at.UnixMilli() || len(d) != 1 || d[0].Namespace != emf.Namespace ||
				string(d[0].Dimensions) != tt.wantDims || len(d[0].Metrics) != 1 || d[0].Metrics[0].Name != "CustomerMoved" {
				t.Errorf("line %s", buf.String())
			}
		})
	}
}
