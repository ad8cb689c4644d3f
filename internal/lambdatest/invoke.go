package lambdatest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// InvokeAPI serves Lambda's Invoke API (POST
// /2015-03-31/functions/{name}/invocations, RequestResponse) for functions
// whose Runtime API this package serves, so that a function, an AWS SDK or
// the CLI can invoke another one as it would in AWS (AWS_ENDPOINT_URL_LAMBDA
// set to URL). A function's error is answered as Lambda answers it: status
// 200, X-Amz-Function-Error: Unhandled and the error document. It does not
// check signatures.
type InvokeAPI struct {
	ln  net.Listener
	srv *http.Server
	fns map[string]*Runtime

	mu    sync.Mutex
	count map[string]int
}

// ServeInvoke starts an InvokeAPI on a free loopback port for the
// functions by name; an ARN is matched by its function name.
func ServeInvoke(functions map[string]*Runtime) (*InvokeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &InvokeAPI{ln: ln, fns: functions, count: make(map[string]int)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", a.invoke)
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go a.srv.Serve(ln)
	return a, nil
}

// URL is the endpoint to give the callers.
func (a *InvokeAPI) URL() string { return "http://" + a.ln.Addr().String() }

// Invocations is how many invocations of the function name were passed on.
func (a *InvokeAPI) Invocations(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.count[name]
}

// Close stops serving.
func (a *InvokeAPI) Close() error { return a.srv.Close() }

func (a *InvokeAPI) invoke(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if rest, ok := strings.CutPrefix(name, "arn:"); ok {
		// arn:partition:lambda:region:account:function:name[:qualifier]
		if parts := strings.Split(rest, ":"); len(parts) >= 6 {
			name = parts[5]
		}
	}
	rt := a.fns[name]
	if rt == nil {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": "Function not found: " + name})
		return
	}
	if t := r.Header.Get("X-Amz-Invocation-Type"); t != "" && t != "RequestResponse" {
		apiError(w, http.StatusBadRequest, "InvalidParameterValueException", "only RequestResponse is served")
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, maxResponse+1))
	if err != nil || len(payload) > maxResponse {
		apiError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "payload too large")
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	a.mu.Lock()
	a.count[name]++
	a.mu.Unlock()
	res, err := rt.Invoke(r.Context(), payload)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "ServiceException", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if res.Err != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		json.NewEncoder(w).Encode(res.Err)
		return
	}
	w.Write(res.Payload)
}
