package wechatsim

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
)

// callHeader carries the number a Client gives each of its requests, so the
// simulator can tell that client when it holds one with a Hang fault.
const callHeader = "Wechatsim-Call"

// hangRegistry connects the requests of a Client with the Hang faults that
// hold them.
type hangRegistry struct {
	next    atomic.Uint64
	mu      sync.Mutex
	waiting map[string]chan struct{}
}

func (h *hangRegistry) register() (id string, held <-chan struct{}, done func()) {
	id = strconv.FormatUint(h.next.Add(1), 10)
	ch := make(chan struct{})
	h.mu.Lock()
	if h.waiting == nil {
		h.waiting = map[string]chan struct{}{}
	}
	h.waiting[id] = ch
	h.mu.Unlock()
	return id, ch, func() {
		h.mu.Lock()
		delete(h.waiting, id)
		h.mu.Unlock()
	}
}

// signal tells the Client that sent r, if any, that r is being held.
func (h *hangRegistry) signal(r *http.Request) {
	id := r.Header.Get(callHeader)
	h.mu.Lock()
	ch, ok := h.waiting[id]
	delete(h.waiting, id)
	h.mu.Unlock()
	if ok {
		close(ch)
	}
}

// Client returns an HTTP client for the simulator whose requests, when a
// Hang fault holds them, fail at once with a timeout error, as they would
// once the caller's deadline passed. Tests of timeouts then take no real
// time and cannot be tipped over by a slow machine. base sends the
// requests; nil means http.DefaultTransport.
func (s *Sim) Client(base http.RoundTripper) *http.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{Transport: &hangAware{base: base, hangs: &s.hangs}}
}

type hangAware struct {
	base  http.RoundTripper
	hangs *hangRegistry
}

type roundTrip struct {
	resp *http.Response
	err  error
}

func (t *hangAware) RoundTrip(req *http.Request) (*http.Response, error) {
	id, held, done := t.hangs.register()
	defer done()
	ctx, cancel := context.WithCancel(req.Context())
	out := req.Clone(ctx)
	out.Header.Set(callHeader, id)
	result := make(chan roundTrip, 1)
	go func() {
		resp, err := t.base.RoundTrip(out)
		result <- roundTrip{resp, err}
	}()
	select {
	case r := <-result:
		if r.err != nil {
			cancel()
			return nil, r.err
		}
		r.resp.Body = &cancelBody{ReadCloser: r.resp.Body, cancel: cancel}
		return r.resp, nil
	case <-held:
		cancel()
		if r := <-result; r.resp != nil {
			r.resp.Body.Close()
		}
		return nil, errHeld
	}
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach base.
func (t *hangAware) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// heldError is what a request held by a Hang fault fails with: a timeout,
// as net/http reports one, that also matches context.DeadlineExceeded.
type heldError struct{}

var errHeld error = heldError{}

func (heldError) Error() string   { return "wechatsim: request held by a Hang fault: timeout" }
func (heldError) Timeout() bool   { return true }
func (heldError) Temporary() bool { return true }
func (heldError) Unwrap() error   { return context.DeadlineExceeded }

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
