package refresh

import (
	"encoding/json"
	"fmt"
	"io"
)

// Namespace is the CloudWatch namespace of the run's metrics.
const Namespace = "wxcomponent"

type emfMetric struct {
	Name string
	Unit string
}

type emfDirective struct {
	Namespace  string
	Dimensions [][]string
	Metrics    []emfMetric
}

type emfMetadata struct {
	Timestamp         int64
	CloudWatchMetrics []emfDirective
}

// writeEMF writes sum as one line of CloudWatch Embedded Metric Format: a
// JSON object whose _aws member declares which of its top-level numbers are
// metrics. Lambda's log agent turns such a line on stdout into metrics; the
// other members stay searchable in the log. The line goes out in one Write so
// it cannot interleave with other log lines.
func writeEMF(w io.Writer, sum Summary, stage string) error {
	doc := map[string]any{
		"ComponentAppID": sum.ComponentAppID,
		"Due":            sum.Due,
		"Refreshed":      sum.Refreshed,
		"Recovered":      sum.Recovered,
		"NeedsReauth":    sum.NeedsReauth,
		"Revoked":        sum.Revoked,
		"Failed":         sum.Failed,
		"Skipped":        sum.Skipped,
		"Left":           sum.Left,
		"Duration":       sum.Duration.Milliseconds(),
	}
	var metrics []emfMetric
	// A worker's batch (Work, no component state) was counted Due by the run
	// that queued it: the metric counts it once.
	if sum.Component != "" {
		metrics = append(metrics, emfMetric{"Due", "Count"})
	}
	metrics = append(metrics,
		emfMetric{"Refreshed", "Count"}, emfMetric{"Recovered", "Count"}, emfMetric{"NeedsReauth", "Count"},
		emfMetric{"Revoked", "Count"}, emfMetric{"Failed", "Count"}, emfMetric{"Skipped", "Count"},
		emfMetric{"Left", "Count"}, emfMetric{"Duration", "Milliseconds"})
	if sum.Queued > 0 {
		doc["Queued"] = sum.Queued
		metrics = append(metrics, emfMetric{"Queued", "Count"})
	}
	// Seconds left on the component token: an alarm on it catches a component
	// that stopped renewing (no ticket, wrong secret) before tokens run out.
	// A worker's batch (Work) does not look at the component token and
	// reports none.
	if sum.Component != "" {
		left := 0.0
		if !sum.ComponentExpiresAt.IsZero() {
			left = max(0, sum.ComponentExpiresAt.Sub(sum.Start).Seconds())
			doc["ComponentTokenExpiresAt"] = sum.ComponentExpiresAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		doc["ComponentTokenLeft"] = left
		metrics = append(metrics, emfMetric{"ComponentTokenLeft", "Seconds"})
	}
	if sum.HasTicket {
		doc["TicketAge"] = sum.TicketAge.Seconds()
		metrics = append(metrics, emfMetric{"TicketAge", "Seconds"})
	}
	if sum.Component != "" {
		doc["ComponentToken"] = string(sum.Component)
	}
	if sum.PushTicket != "" {
		doc["StartPushTicket"] = string(sum.PushTicket)
	}
	dims := [][]string{{}}
	if stage != "" {
		doc["Stage"] = stage
		dims = [][]string{{"Stage"}}
	}
	doc["_aws"] = emfMetadata{
		Timestamp:         sum.Start.UnixMilli(),
		CloudWatchMetrics: []emfDirective{{Namespace: Namespace, Dimensions: dims, Metrics: metrics}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode metrics: %w", err)
	}
	_, err = w.Write(append(line, '\n'))
	return err
}
