package refresh

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/emf"
)

func TestWriteEMF(t *testing.T) {
	start := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	full := Summary{
		ComponentAppID: "wxcomponent1", Start: start, Duration: 1500 * time.Millisecond,
		Due: 10, Refreshed: 5, Recovered: 1, NeedsReauth: 1, Failed: 1, Skipped: 1, Left: 1,
		Component: ComponentRefreshed, ComponentExpiresAt: start.Add(2 * time.Hour),
		HasTicket: true, TicketAge: 5 * time.Minute,
	}
	noTicket := Summary{ComponentAppID: "wxcomponent1", Start: start, Component: ComponentNoTicket, PushTicket: PushRequested}
	fannedOut := Summary{ComponentAppID: "wxcomponent1", Start: start, Component: ComponentFresh, Due: 9, Skipped: 1, Queued: 8}
	worker := Summary{ComponentAppID: "wxcomponent1", Start: start, Due: 8, Refreshed: 7, Failed: 1}

	tests := []struct {
		name     string
		sum      Summary
		stage    string
		dims     string
		metrics  []string
		values   map[string]any
		excluded []string
	}{
		{
			name: "with stage and ticket", sum: full, stage: "prod", dims: `[["Stage"]]`,
			metrics: []string{"Due", "Refreshed", "Recovered", "NeedsReauth", "Revoked", "Failed", "Skipped", "Left", "Duration", "ComponentTokenLeft", "TicketAge"},
			values: map[string]any{
				"Stage": "prod", "Due": 10.0, "Refreshed": 5.0, "Recovered": 1.0, "Left": 1.0, "Duration": 1500.0,
				"ComponentTokenLeft": 7200.0, "TicketAge": 300.0, "ComponentToken": "refreshed",
			},
			excluded: []string{"StartPushTicket"},
		},
		{
			name: "no stage, no ticket", sum: noTicket, dims: `[[]]`,
			metrics:  []string{"Due", "Refreshed", "Recovered", "NeedsReauth", "Revoked", "Failed", "Skipped", "Left", "Duration", "ComponentTokenLeft"},
			values:   map[string]any{"ComponentTokenLeft": 0.0, "ComponentToken": "no_ticket", "StartPushTicket": "requested"},
			excluded: []string{"Stage", "TicketAge", "ComponentTokenExpiresAt"},
		},
		{
			name: "fanned out", sum: fannedOut, dims: `[[]]`,
			metrics: []string{"Due", "Refreshed", "Recovered", "NeedsReauth", "Revoked", "Failed", "Skipped", "Left", "Duration", "Queued", "ComponentTokenLeft"},
			values:  map[string]any{"Due": 9.0, "Queued": 8.0, "Skipped": 1.0, "ComponentToken": "fresh"},
		},
		{
			// A worker's batch: its accounts were counted Due by the run
			// that queued them, and it says nothing of the component token
			// (which the no-ticket alarm watches).
			name: "worker batch", sum: worker, dims: `[[]]`,
			metrics:  []string{"Refreshed", "Recovered", "NeedsReauth", "Revoked", "Failed", "Skipped", "Left", "Duration"},
			values:   map[string]any{"Refreshed": 7.0, "Failed": 1.0},
			excluded: []string{"ComponentToken", "ComponentTokenLeft", "TicketAge", "Queued"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writeEMF(&buf, tt.sum, tt.stage); err != nil {
				t.Fatal(err)
			}
			line := buf.Bytes()
			if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
				t.Fatalf("want exactly one line, got %q", line)
			}
			var doc map[string]any
			if err := json.Unmarshal(line, &doc); err != nil {
				t.Fatal(err)
			}
			var meta struct {
				AWS struct {
					Timestamp         int64
					CloudWatchMetrics []struct {
						Namespace  string
						Dimensions json.RawMessage
						Metrics    []struct{ Name, Unit string }
					}
				} `json:"_aws"`
			}
			if err := json.Unmarshal(line, &meta); err != nil {
				t.Fatal(err)
			}
			if meta.AWS.Timestamp != start.UnixMilli() {
				t.Errorf("Timestamp = %d, want %d", meta.AWS.Timestamp, start.UnixMilli())
			}
			if len(meta.AWS.CloudWatchMetrics) != 1 {
				t.Fatalf("want one metric directive, got %d", len(meta.AWS.CloudWatchMetrics))
			}
			d := meta.AWS.CloudWatchMetrics[0]
			if d.Namespace != emf.Namespace || string(d.Dimensions) != tt.dims {
				t.Errorf("namespace %q dimensions %s, want %q %s", d.Namespace, d.Dimensions, emf.Namespace, tt.dims)
			}
			var names []string
			for _, m := range d.Metrics {
				names = append(names, m.Name)
				// Every declared metric must be a top-level number.
				if _, ok := doc[m.Name].(float64); !ok {
					t.Errorf("metric %s has no numeric value: %v", m.Name, doc[m.Name])
				}
				if m.Unit == "" {
					t.Errorf("metric %s has no unit", m.Name)
				}
			}
			if got, want := names, tt.metrics; !slices.Equal(got, want) {
				t.Errorf("metrics %v, want %v", got, want)
			}
			for k, want := range tt.values {
				if doc[k] != want {
					t.Errorf("%s = %v, want %v", k, doc[k], want)
				}
			}
			for _, k := range tt.excluded {
				if _, ok := doc[k]; ok {
					t.Errorf("%s present, want absent", k)
				}
			}
		})
	}
}
