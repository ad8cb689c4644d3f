package replyhook

import "github.com/wxcomponent/wxcomponent/shared/emf"

// MetricFailed counts messages answered "success" because the hook failed.
const MetricFailed = "ReplyHookFailed"

// count writes one Embedded Metric Format line counting a failure: Lambda's
// log agent turns it into the metric, and the reason stays searchable in
// the log.
func (h *Hook) count(reason string) {
	err := emf.Write(h.metrics, h.now(), h.stage, map[string]any{"Reason": reason},
		emf.Metric{Name: MetricFailed, Unit: "Count", Value: 1})
	if err != nil {
		h.log.Error("write reply hook metric", "err", err)
	}
}
