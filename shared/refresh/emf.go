package refresh

import (
	"io"

	"github.com/wxcomponent/wxcomponent/shared/emf"
)

// writeEMF writes sum as one line of CloudWatch Embedded Metric Format
// (package emf): the run's counts as metrics, the rest searchable in the
// log.
func writeEMF(w io.Writer, sum Summary, stage string) error {
	doc := map[string]any{"ComponentAppID": sum.ComponentAppID}
	count := func(name string, n int) emf.Metric { return emf.Metric{Name: name, Unit: "Count", Value: float64(n)} }
	var metrics []emf.Metric
	// A worker's batch (Work, no component state) was counted Due by the run
	// that queued it: the metric counts it once.
	if sum.Component != "" {
		metrics = append(metrics, count("Due", sum.Due))
	} else {
		doc["Due"] = sum.Due
	}
	metrics = append(metrics,
		count("Refreshed", sum.Refreshed), count("Recovered", sum.Recovered), count("NeedsReauth", sum.NeedsReauth),
		count("Revoked", sum.Revoked), count("Failed", sum.Failed), count("Skipped", sum.Skipped),
		count("Left", sum.Left), emf.Metric{Name: "Duration", Unit: "Milliseconds", Value: float64(sum.Duration.Milliseconds())})
	if sum.Queued > 0 {
		metrics = append(metrics, count("Queued", sum.Queued))
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
		metrics = append(metrics, emf.Metric{Name: "ComponentTokenLeft", Unit: "Seconds", Value: left})
	}
	if sum.HasTicket {
		metrics = append(metrics, emf.Metric{Name: "TicketAge", Unit: "Seconds", Value: sum.TicketAge.Seconds()})
	}
	if sum.Component != "" {
		doc["ComponentToken"] = string(sum.Component)
	}
	if sum.PushTicket != "" {
		doc["StartPushTicket"] = string(sum.PushTicket)
	}
	return emf.Write(w, sum.Start, stage, doc, metrics...)
}
