// Package emf writes CloudWatch Embedded Metric Format lines: JSON objects
// whose _aws member declares which of their top-level numbers are metrics.
// Lambda's log agent turns such a line on standard output into metrics; the
// other members stay searchable in the log.
package emf

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Namespace is the CloudWatch namespace of the platform's metrics.
const Namespace = "wxcomponent"

// Metric is one value of a line.
type Metric struct {
	Name  string
	Unit  string // CloudWatch unit: "Count", "Seconds", …
	Value float64
}

type directive struct {
	Namespace  string
	Dimensions [][]string
	Metrics    []unit
}

type unit struct {
	Name string
	Unit string
}

type metadata struct {
	Timestamp         int64
	CloudWatchMetrics []directive
}

// Write writes metrics and the properties props (strings or numbers that
// are not metrics) as one line, in one Write so that it cannot interleave
// with other log lines. A non-empty stage is the metrics' one dimension
// (Stage).
func Write(w io.Writer, at time.Time, stage string, props map[string]any, metrics ...Metric) error {
	doc := make(map[string]any, len(props)+len(metrics)+2)
	for k, v := range props {
		doc[k] = v
	}
	units := make([]unit, len(metrics))
	for i, m := range metrics {
		doc[m.Name] = m.Value
		units[i] = unit{m.Name, m.Unit}
	}
	dims := [][]string{{}}
	if stage != "" {
		doc["Stage"] = stage
		dims = [][]string{{"Stage"}}
	}
	doc["_aws"] = metadata{
		Timestamp:         at.UnixMilli(),
		CloudWatchMetrics: []directive{{Namespace: Namespace, Dimensions: dims, Metrics: units}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode metrics: %w", err)
	}
	_, err = w.Write(append(line, '\n'))
	return err
}
