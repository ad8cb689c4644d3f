package lambdatest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// client plays a function's runtime loop against r with plain HTTP, as
// aws-lambda-go's does.
type client struct {
	t    *testing.T
	base string
}

func newClient(t *testing.T, r *Runtime) client {
	return client{t: t, base: "http://" + r.Addr() + "/" + APIVersion + "/runtime/"}
}

func (c client) next() (http.Header, string) {
	c.t.Helper()
	resp, err := http.Get(c.base + "invocation/next")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("next: %s", resp.Status)
	}
	return resp.Header, string(body)
}

func (c client) post(path, body string, header ...string) int {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func startRuntime(t *testing.T) *Runtime {
	t.Helper()
	r, err := Start("arn:aws:lambda:us-east-1:123456789012:function:f", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

type outcome struct {
	res Result
	err error
}

func invokeAsync(r *Runtime, ctx context.Context, payload string) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		res, err := r.Invoke(ctx, []byte(payload))
		ch <- outcome{res, err}
	}()
	return ch
}

func TestRuntimeResponse(t *testing.T) {
	r := startRuntime(t)
	c := newClient(t, r)
	done := invokeAsync(r, t.Context(), `{"a":1}`)

	h, body := c.next()
	if body != `{"a":1}` {
		t.Errorf("payload %q", body)
	}
	id := h.Get(HeaderRequestID)
	deadline, err := strconv.ParseInt(h.Get(HeaderDeadline), 10, 64)
	if err != nil || time.UnixMilli(deadline).Before(time.Now()) {
		t.Errorf("deadline %q: %v", h.Get(HeaderDeadline), err)
	}
	if id == "" || h.Get(HeaderFunctionARN) != "arn:aws:lambda:us-east-1:123456789012:function:f" || !strings.HasPrefix(h.Get(HeaderTraceID), "Root=1-") {
		t.Errorf("headers %v", h)
	}
	if got := c.post("invocation/unknown/response", "x"); got != http.StatusBadRequest {
		t.Errorf("response to an unknown id: %d, want 400", got)
	}
	if got := c.post("invocation/"+id+"/response", `"ok"`); got != http.StatusAccepted {
		t.Errorf("response: %d, want 202", got)
	}
	if got := c.post("invocation/"+id+"/response", `"again"`); got != http.StatusBadRequest {
		t.Errorf("second response: %d, want 400", got)
	}
	out := <-done
	if out.err != nil || string(out.res.Payload) != `"ok"` || out.res.Err != nil {
		t.Errorf("Invoke = %q, %v, %v", out.res.Payload, out.res.Err, out.err)
	}
}

func TestRuntimeInvocationError(t *testing.T) {
	r := startRuntime(t)
	c := newClient(t, r)
	done := invokeAsync(r, t.Context(), `{}`)
	h, _ := c.next()
	code := c.post("invocation/"+h.Get(HeaderRequestID)+"/error", `{"errorMessage":"boom","errorType":"errorString"}`,
		HeaderErrorType, "errorString")
	if code != http.StatusAccepted {
		t.Errorf("error: %d, want 202", code)
	}
	out := <-done
	if out.err != nil || out.res.Err == nil || out.res.Err.Message != "boom" || out.res.Err.Type != "errorString" || out.res.Payload != nil {
		t.Errorf("Invoke = %q, %+v, %v", out.res.Payload, out.res.Err, out.err)
	}
}

func TestRuntimeInitError(t *testing.T) {
	r := startRuntime(t)
	c := newClient(t, r)
	if code := c.post("init/error", `{"errorMessage":"bad secret","errorType":"Runtime.ExitError"}`); code != http.StatusAccepted {
		t.Errorf("init error: %d, want 202", code)
	}
	_, err := r.Invoke(t.Context(), []byte(`{}`))
	if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), "bad secret") {
		t.Errorf("Invoke after an init error: %v", err)
	}
}

func TestRuntimeInvokeEnds(t *testing.T) {
	r := startRuntime(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.Invoke(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Invoke with a cancelled context: %v", err)
	}
	r.Close()
	if _, err := r.Invoke(t.Context(), nil); err == nil {
		t.Error("Invoke on a closed runtime succeeded")
	}
}
