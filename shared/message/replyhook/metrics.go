package replyhook

import (
	"encoding/json"
)

// Namespace is the CloudWatch namespace of the hook's metric, the
// platform's.
const Namespace = "wxcomponent"

// MetricFailed counts messages answered "success" because the hook failed.
const MetricFailed = "ReplyHookFailed"

// count writes one Embedded Metric Format line counting a failure: Lambda's
// log agent turns it into the metric, and the reason stays searchable in
// the log. It goes out in one Write so it cannot interleave with other
// lines.
func (h *Hook) count(reason string) {
	type metric struct{ Name, Unit string }
	type directive struct {
		Namespace  string
		Dimensions [][]string
		Metrics    []metric
	}
	doc := map[string]any{MetricFailed: 1, "Reason": reason}
	dims := [][]string{{}}
	if h.stage != "" {
		doc["Stage"] = h.stage
		dims = [][]string{{"Stage"}}
	}
	doc["_aws"] = map[string]any{
		"Timestamp":         h.now().UnixMilli(),
		"CloudWatchMetrics": []directive{{Namespace: Namespace, Dimensions: dims, Metrics: []metric{{MetricFailed, "Count"}}}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		h.log.Error("encode reply hook metric", "err", err)
		return
	}
	if _, err := h.metrics.Write(append(line, '\n')); err != nil {
		h.log.Error("write reply hook metric", "err", err)
	}
}
