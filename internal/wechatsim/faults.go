package wechatsim

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"
)

// API names, as Fault, Calls and CallsFor take them: the path below
// /cgi-bin/component/ for component APIs, below /cgi-bin/ for business APIs.
const (
	APIComponentToken    = "api_component_token"
	APIStartPushTicket   = "api_start_push_ticket"
	APICreatePreAuthCode = "api_create_preauthcode"
	APIQueryAuth         = "api_query_auth"
	APIAuthorizerToken   = "api_authorizer_token"
	APIGetAuthorizerInfo = "api_get_authorizer_info"
	APIGetAuthorizerList = "api_get_authorizer_list"
	APICustomSend        = "message/custom/send"
	APIMediaGet          = "media/get"
	APIUserInfo          = "user/info"
	APIUserInfoBatchGet  = "user/info/batchget"
	AllAPIs              = "*" // a Fault for every API
)

// Fault is a failure injected into an API. The first matching fault of an
// API applies to a call; one fault can combine latency with an error.
type Fault struct {
	// ErrCode, if non-zero, is answered as {"errcode":ErrCode,"errmsg":…}
	// instead of the API's work, e.g. -1, 45009, 61004, 61023.
	ErrCode int
	// ErrMsg overrides WeChat's errmsg for ErrCode.
	ErrMsg string
	// Status, if non-zero and ErrCode is zero, is answered as a bare HTTP
	// status (a gateway error, say 502).
	Status int
	// Hang holds the request, unanswered, until the client gives up or the
	// simulator closes. A client from Sim.Client gives up at once, as if its
	// deadline had passed, so tests need not wait out real timeouts.
	Hang bool
	// Latency is added (real time) before the answer.
	Latency time.Duration
	// Times limits the fault to the next Times matching calls; 0 means until
	// ClearFaults. With Authorizers, each listed account has Times calls of
	// its own, so concurrent calls about one account cannot use up
	// another's.
	Times int
	// Authorizers limits the fault to calls about these authorizer appids;
	// empty means every call.
	Authorizers []string
}

// activeFault is a Fault with what is left of its Times: per listed
// authorizer, or under "" when it applies to every call.
type activeFault struct {
	Fault
	left map[string]int
}

// applies reports whether f matches a call about authorizer and, if it is
// limited, counts the call against it.
func (f *activeFault) applies(authorizer string) bool {
	key := ""
	if len(f.Authorizers) > 0 {
		if !slices.Contains(f.Authorizers, authorizer) {
			return false
		}
		key = authorizer
	}
	if f.Times == 0 {
		return true
	}
	n, seen := f.left[key]
	if !seen {
		n = f.Times
	}
	if n == 0 {
		return false
	}
	f.left[key] = n - 1
	return true
}

// usedUp reports whether every call f was limited to has been made.
func (f *activeFault) usedUp() bool {
	if f.Times == 0 {
		return false
	}
	keys := f.Authorizers
	if len(keys) == 0 {
		keys = []string{""}
	}
	for _, k := range keys {
		if n, seen := f.left[k]; !seen || n > 0 {
			return false
		}
	}
	return true
}

type faultTable struct {
	mu      sync.Mutex
	byAPI   map[string][]*activeFault
	latency time.Duration
}

// Fault injects f into api (one of the API names, or AllAPIs). Faults of an
// API are tried in the order added.
func (s *Sim) Fault(api string, f Fault) {
	f.Authorizers = slices.Clone(f.Authorizers)
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if s.faults.byAPI == nil {
		s.faults.byAPI = map[string][]*activeFault{}
	}
	s.faults.byAPI[api] = append(s.faults.byAPI[api], &activeFault{Fault: f, left: map[string]int{}})
}

// ClearFaults removes every fault and the latency set by SetLatency.
func (s *Sim) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.byAPI = nil
	s.faults.latency = 0
}

// SetLatency adds d (real time) to every API call, as a slow network would.
func (s *Sim) SetLatency(d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.latency = d
}

// take returns the fault that applies to a call of api about authorizer, and
// counts it against its Times, together with the global latency.
func (t *faultTable) take(api, authorizer string) (Fault, bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, name := range [...]string{api, AllAPIs} {
		list := t.byAPI[name]
		for i, f := range list {
			if !f.applies(authorizer) {
				continue
			}
			if f.usedUp() {
				t.byAPI[name] = slices.Delete(list, i, i+1)
			}
			return f.Fault, true, t.latency
		}
	}
	return Fault{}, false, t.latency
}

type callStats struct {
	mu    sync.Mutex
	byAPI map[string]int
	byAcc map[callKey]int
}

type callKey struct{ api, authorizer string }

// Calls returns how many calls api received since the start or ResetCalls.
func (s *Sim) Calls(api string) int {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return s.stats.byAPI[api]
}

// CallsFor returns how many calls api received about one authorizer.
func (s *Sim) CallsFor(api, authorizerAppID string) int {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return s.stats.byAcc[callKey{api, authorizerAppID}]
}

// AllCalls returns the call count of every API called so far.
func (s *Sim) AllCalls() map[string]int {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := make(map[string]int, len(s.stats.byAPI))
	for k, v := range s.stats.byAPI {
		out[k] = v
	}
	return out
}

// ResetCalls sets every call counter to zero.
func (s *Sim) ResetCalls() {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.stats.byAPI = nil
	s.stats.byAcc = nil
}

func (c *callStats) count(api, authorizer string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byAPI == nil {
		c.byAPI = map[string]int{}
		c.byAcc = map[callKey]int{}
	}
	c.byAPI[api]++
	if authorizer != "" {
		c.byAcc[callKey{api, authorizer}]++
	}
}

// intercept counts a call and applies latency and faults to it. It reports
// whether the call has been answered (or abandoned) and must not go on. No
// lock is held while it waits.
func (s *Sim) intercept(w http.ResponseWriter, r *http.Request, api, authorizer string) bool {
	s.stats.count(api, authorizer)
	f, ok, latency := s.faults.take(api, authorizer)
	if ok {
		latency += f.Latency
	}
	ctx := r.Context()
	if latency > 0 && !s.wait(ctx, latency) {
		return true
	}
	if !ok {
		return false
	}
	switch {
	case f.Hang:
		s.hangs.signal(r)
		select {
		case <-ctx.Done():
		case <-s.done:
		}
		return true
	case f.ErrCode != 0:
		writeError(w, &apiError{code: f.ErrCode, msg: f.ErrMsg})
		return true
	case f.Status != 0:
		w.WriteHeader(f.Status)
		return true
	}
	return false
}

// wait waits d of real time; false if ctx ended or the simulator closed
// first.
func (s *Sim) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}
