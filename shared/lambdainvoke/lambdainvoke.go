// Package lambdainvoke calls another Lambda function synchronously (Lambda's
// Invoke API, RequestResponse) and returns its answer, turning the ways an
// invocation fails (the call itself, an error the function reported, no
// answer before the caller's deadline) into Go errors. The message function
// calls the SaaS's reply hook with it, and the token reader the token
// function.
//
// It signs the one request it makes with the AWS SDK's SigV4 signer and the
// SDK configuration's credentials instead of linking the SDK's Lambda
// client, which would add about 650 kB to the message function's bootstrap
// and push it past the 12 MB the project allows.
package lambdainvoke

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// EnvEndpoint overrides Lambda's endpoint, as it does for the AWS SDKs;
// AWS_ENDPOINT_URL (the SDK configuration's BaseEndpoint) comes next.
const EnvEndpoint = "AWS_ENDPOINT_URL_LAMBDA"

// maxAnswer is Lambda's limit on a synchronous invocation's response.
const maxAnswer = 6 << 20

// FunctionError is an error the invoked function reported (it raised, timed
// out or ran out of memory): Lambda answered, with the error document as
// the payload.
type FunctionError struct {
	Function string
	Kind     string // X-Amz-Function-Error: "Unhandled" or "Handled"
	Payload  []byte // the error document, as {"errorMessage":…,"errorType":…}
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function %s failed (%s): %.512s", e.Function, e.Kind, e.Payload)
}

// ServiceError is Lambda refusing the invocation: no such function, no
// permission, throttled.
type ServiceError struct {
	Function string
	Status   int
	Type     string // x-amzn-ErrorType, such as ResourceNotFoundException
	Message  string
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("invoke %s: %d %s: %s", e.Function, e.Status, e.Type, e.Message)
}

// Function is one Lambda function to invoke. It is safe for concurrent use.
type Function struct {
	name     string
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	client   aws.HTTPClient
	signer   *v4.Signer
}

// New returns the function name (a name, a partial or a full ARN, with an
// optional alias or version) invoked with cfg's region, credentials and
// HTTP client; getenv(EnvEndpoint) or cfg.BaseEndpoint, when set, replace
// Lambda's regional endpoint.
func New(cfg aws.Config, getenv func(string) string, name string) *Function {
	f := &Function{
		name:     name,
		endpoint: getenv(EnvEndpoint),
		region:   cfg.Region,
		creds:    cfg.Credentials,
		client:   cfg.HTTPClient,
		signer:   v4.NewSigner(),
	}
	if f.endpoint == "" && cfg.BaseEndpoint != nil {
		f.endpoint = *cfg.BaseEndpoint
	}
	if f.endpoint == "" {
		f.endpoint = "https://lambda." + cfg.Region + ".amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			f.endpoint += ".cn"
		}
	}
	f.endpoint = strings.TrimSuffix(f.endpoint, "/")
	if f.client == nil {
		f.client = http.DefaultClient
	}
	return f
}

// Name is the function as given to New.
func (f *Function) Name() string { return f.name }

// Call invokes the function synchronously with payload (a JSON document)
// and returns its answer. It returns when ctx ends, whether or not the
// function has answered: Lambda finishes the invocation on its own.
func (f *Function) Call(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := f.request(ctx, payload)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", f.name, err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = errors.Join(ctxErr, err)
		}
		return nil, fmt.Errorf("invoke %s: %w", f.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("invoke %s: read the answer: %w", f.name, errors.Join(ctx.Err(), err))
	}
	if len(body) > maxAnswer {
		return nil, fmt.Errorf("invoke %s: answer larger than %d bytes", f.name, maxAnswer)
	}
	if resp.StatusCode/100 != 2 {
		return nil, serviceError(f.name, resp, body)
	}
	if kind := resp.Header.Get("X-Amz-Function-Error"); kind != "" {
		return nil, &FunctionError{Function: f.name, Kind: kind, Payload: body}
	}
	return body, nil
}

// request builds the signed Invoke request.
func (f *Function) request(ctx context.Context, payload []byte) (*http.Request, error) {
	u := f.endpoint + "/2015-03-31/functions/" + url.PathEscape(f.name) + "/invocations"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	if f.creds == nil {
		return nil, errors.New("no AWS credentials configured")
	}
	creds, err := f.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS credentials: %w", err)
	}
	sum := sha256.Sum256(payload)
	if err := f.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "lambda", f.region, time.Now()); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return req, nil
}

// serviceError reads Lambda's error answer: the type in a header or the
// body, the message in the body.
func serviceError(function string, resp *http.Response, body []byte) error {
	e := &ServiceError{Function: function, Status: resp.StatusCode, Type: resp.Header.Get("X-Amzn-Errortype")}
	var doc struct {
		Type     string `json:"Type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	if json.Unmarshal(body, &doc) == nil {
		e.Message = doc.Message + doc.Message2
		if e.Type == "" {
			e.Type = doc.Type
		}
	} else {
		e.Message = fmt.Sprintf("%.256s", body)
	}
	e.Type, _, _ = strings.Cut(e.Type, ":")
	return e
}
