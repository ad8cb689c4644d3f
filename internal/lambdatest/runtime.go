// Package lambdatest runs the functions' bootstrap binaries the way AWS
// Lambda runs them: as processes that fetch invocations from the Lambda
// Runtime API and post their responses back. Runtime is a local
// implementation of that API; the package's tests build every function,
// feed it the sample events of events/ and measure cold starts.
package lambdatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// APIVersion is the Runtime API version in every path.
const APIVersion = "2018-06-01"

// Headers of a next-invocation response.
const (
	HeaderRequestID   = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadline    = "Lambda-Runtime-Deadline-Ms"
	HeaderFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID     = "Lambda-Runtime-Trace-Id"
	HeaderErrorType   = "Lambda-Runtime-Function-Error-Type"
)

// maxResponse is Lambda's limit on a synchronous invocation's response.
const maxResponse = 6 << 20

// Runtime is the Lambda Runtime API for one function's execution
// environment: the process gets invocations queued with Invoke from
// GET /2018-06-01/runtime/invocation/next and answers each on
// /runtime/invocation/{id}/response or /error; a failed start is reported
// on /runtime/init/error. Create it with Start; it is safe for concurrent
// use.
type Runtime struct {
	arn     string
	timeout time.Duration
	ln      net.Listener
	srv     *http.Server
	queue   chan *invocation
	done    chan struct{} // closed by Close

	closeOnce  sync.Once
	initOnce   sync.Once
	initFailed chan struct{} // closed when the function reports a failed start
	mu         sync.Mutex
	initErr    *FunctionError
	inFlight   map[string]*invocation
}

// Result is a function's answer to an invocation.
type Result struct {
	// Payload is the response body; nil when the function reported an error.
	Payload []byte
	// Err is the error the function reported, if it did.
	Err *FunctionError
	// Fetched is when the function took the invocation: for the first one,
	// the end of its initialization.
	Fetched time.Time
	// At is when the answer arrived.
	At time.Time
}

// FunctionError is an error a function or its runtime reported, in the
// Runtime API's JSON form.
type FunctionError struct {
	Message string   `json:"errorMessage"`
	Type    string   `json:"errorType"`
	Trace   []string `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// ErrInit wraps the error a function reported on /runtime/init/error.
var ErrInit = errors.New("function failed to initialize")

type invocation struct {
	id      string
	payload []byte
	fetched time.Time
	result  chan Result // buffered: one answer
}

// Start serves the Runtime API on a free loopback port for a function with
// the given ARN, whose invocations get timeout from when the function
// fetches them.
func Start(functionARN string, timeout time.Duration) (*Runtime, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API: %w", err)
	}
	r := &Runtime{
		arn:        functionARN,
		timeout:    timeout,
		ln:         ln,
		queue:      make(chan *invocation),
		done:       make(chan struct{}),
		initFailed: make(chan struct{}),
		inFlight:   make(map[string]*invocation),
	}
	mux := http.NewServeMux()
	prefix := "/" + APIVersion + "/runtime"
	mux.HandleFunc("GET "+prefix+"/invocation/next", r.next)
	mux.HandleFunc("POST "+prefix+"/invocation/{id}/response", r.response)
	mux.HandleFunc("POST "+prefix+"/invocation/{id}/error", r.invocationError)
	mux.HandleFunc("POST "+prefix+"/init/error", r.initError)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// Addr is the value for AWS_LAMBDA_RUNTIME_API: host and port.
func (r *Runtime) Addr() string { return r.ln.Addr().String() }

// Close stops serving; a function waiting for its next invocation gets an
// error.
func (r *Runtime) Close() error {
	r.closeOnce.Do(func() { close(r.done) })
	return r.srv.Close()
}

// Invoke queues an invocation with payload and waits for the function to
// answer it. It fails when ctx ends, when the runtime is closed, and with
// ErrInit when the function reports a failed start.
func (r *Runtime) Invoke(ctx context.Context, payload []byte) (Result, error) {
	inv := &invocation{id: NewRequestID(), payload: payload, result: make(chan Result, 1)}
	select {
	case r.queue <- inv:
	case <-r.initFailed:
		r.mu.Lock()
		defer r.mu.Unlock()
		return Result{}, fmt.Errorf("%w: %v", ErrInit, r.initErr)
	case <-r.done:
		return Result{}, errors.New("runtime API closed")
	case <-ctx.Done():
		return Result{}, fmt.Errorf("no function took the invocation: %w", ctx.Err())
	}
	select {
	case res := <-inv.result:
		return res, nil
	case <-r.done:
		return Result{}, errors.New("runtime API closed")
	case <-ctx.Done():
		return Result{}, fmt.Errorf("invocation %s not answered: %w", inv.id, ctx.Err())
	}
}

// next hands the function its next invocation, waiting as long as it
// takes, as Lambda's does.
func (r *Runtime) next(w http.ResponseWriter, req *http.Request) {
	var inv *invocation
	select {
	case inv = <-r.queue:
	case <-r.done:
		http.Error(w, "shutting down", http.StatusGone)
		return
	case <-req.Context().Done():
		return
	}
	r.mu.Lock()
	inv.fetched = time.Now()
	r.inFlight[inv.id] = inv
	r.mu.Unlock()
	h := w.Header()
	h.Set(HeaderRequestID, inv.id)
	h.Set(HeaderDeadline, strconv.FormatInt(time.Now().Add(r.timeout).UnixMilli(), 10))
	h.Set(HeaderFunctionARN, r.arn)
	h.Set(HeaderTraceID, traceID())
	h.Set("Content-Type", "application/json")
	w.Write(inv.payload)
}

func (r *Runtime) response(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxResponse))
	if err != nil {
		apiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", err.Error())
		return
	}
	r.finish(w, req.PathValue("id"), Result{Payload: body, At: time.Now()})
}

func (r *Runtime) invocationError(w http.ResponseWriter, req *http.Request) {
	fe, err := readError(req)
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	r.finish(w, req.PathValue("id"), Result{Err: fe, At: time.Now()})
}

// finish delivers the answer to invocation id, which must be in flight.
func (r *Runtime) finish(w http.ResponseWriter, id string, res Result) {
	r.mu.Lock()
	inv, ok := r.inFlight[id]
	delete(r.inFlight, id)
	r.mu.Unlock()
	if !ok {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation "+id+" in flight")
		return
	}
	res.Fetched = inv.fetched
	inv.result <- res
	accepted(w)
}

func (r *Runtime) initError(w http.ResponseWriter, req *http.Request) {
	fe, err := readError(req)
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	r.initOnce.Do(func() {
		r.mu.Lock()
		r.initErr = fe
		r.mu.Unlock()
		close(r.initFailed)
	})
	accepted(w)
}

// readError reads an error document; an empty body gets its type from the
// Lambda-Runtime-Function-Error-Type header.
func readError(req *http.Request) (*FunctionError, error) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxResponse))
	if err != nil {
		return nil, err
	}
	fe := &FunctionError{Type: req.Header.Get(HeaderErrorType)}
	if len(body) > 0 {
		if err := json.Unmarshal(body, fe); err != nil {
			return nil, fmt.Errorf("error document: %w", err)
		}
	}
	return fe, nil
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(FunctionError{Type: typ, Message: msg})
}

// NewRequestID returns a request ID shaped like Lambda's (a UUID).
func NewRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// traceID returns an X-Ray trace header for an unsampled request.
func traceID() string {
	var b [20]byte
	rand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), hex.EncodeToString(b[:12]), hex.EncodeToString(b[12:]))
}
