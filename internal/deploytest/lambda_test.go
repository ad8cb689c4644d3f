package deploytest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/wxcomponent/wxcomponent/cmd/wxevents/samples"
	"github.com/wxcomponent/wxcomponent/internal/lambdatest"
	"github.com/wxcomponent/wxcomponent/internal/motoserver"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
)

// The bootstraps are built once per test binary, into a directory TestMain
// removes.
var built struct {
	once sync.Once
	dir  string
	bins map[string]string // function name -> bootstrap path
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// bootstraps builds every functions/<name> as Lambda runs it (Linux, the
// Makefile's flags) for this machine's architecture, all at once, and
// returns the binaries by function name.
func bootstraps(tb testing.TB) map[string]string {
	tb.Helper()
	root := repoRoot(tb)
	built.once.Do(func() { built.dir, built.bins, built.err = buildAll(root) })
	if built.err != nil {
		tb.Fatal(built.err)
	}
	return built.bins
}

func buildAll(root string) (string, map[string]string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", nil, fmt.Errorf("go not on PATH: %w", err)
	}
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "wxcomponent-bootstraps-")
	if err != nil {
		return "", nil, err
	}
	bins := map[string]string{}
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	for i, e := range entries {
		if !e.IsDir() {
			continue
		}
		bin := filepath.Join(dir, e.Name(), "bootstrap")
		bins[e.Name()] = bin
		wg.Go(func() {
			cmd := exec.Command(goBin, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w",
				"-o", bin, "./functions/"+e.Name())
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=")
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("build functions/%s: %v\n%s", e.Name(), err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return dir, nil, err
		}
	}
	return dir, bins, nil
}

// stack is what a deployed stack gives the functions, locally: DynamoDB
// and SSM in moto_server, WeChat played by the simulator.
type stack struct {
	env    []string // the environment every function gets
	table  string
	dynamo *dynamodb.Client
	sim    *wechatsim.Sim
	simURL string
}

const (
	testStage  = "test"
	testTable  = "wxcomponent-test"
	testPrefix = "/wxcomponent/test/"
	region     = "us-east-1"
	// invokeTimeout bounds one invocation: WeChat's own limit is 5 s.
	invokeTimeout = 30 * time.Second
)

// setUp starts moto_server with the table and the sample secrets (as the
// deployment guide creates them), and the simulator set up for the samples.
func setUp(tb testing.TB) *stack {
	tb.Helper()
	ctx := tb.Context()
	endpoint := motoserver.Start(tb)
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	s := &stack{table: testTable, dynamo: dynamodb.NewFromConfig(cfg)}
	if err := dynamo.CreateTable(ctx, s.dynamo, s.table); err != nil {
		tb.Fatal(err)
	}
	params := ssm.NewFromConfig(cfg)
	for name, value := range samples.Secrets() {
		_, err := params.PutParameter(ctx, &ssm.PutParameterInput{
			Name: aws.String(testPrefix + name), Value: aws.String(value), Type: ssmtypes.ParameterTypeSecureString,
			// The SDK repeats a put whose answer was lost on a busy machine;
			// without Overwrite the repeat fails on what its first try created.
			Overwrite: aws.Bool(true),
		})
		if err != nil {
			tb.Fatalf("put SSM parameter %s: %v", name, err)
		}
	}

	s.sim = wechatsim.New(wechatsim.Options{TicketInterval: -1})
	tb.Cleanup(s.sim.Close)
	if err := samples.SetUpSim(ctx, s.sim); err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(samples.StandIn(s.sim))
	tb.Cleanup(srv.Close)
	s.simURL = srv.URL

	s.env = []string{
		// What Lambda's execution environment has for an OS-only runtime.
		"_HANDLER=bootstrap",
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"LAMBDA_RUNTIME_DIR=/var/runtime",
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		// Credentials and the emulator, in place of the execution role.
		"AWS_ACCESS_KEY_ID=" + os.Getenv("AWS_ACCESS_KEY_ID"),
		"AWS_SECRET_ACCESS_KEY=" + os.Getenv("AWS_SECRET_ACCESS_KEY"),
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		// What template.yaml sets (Globals.Function.Environment).
		"STAGE=" + testStage,
		"WX_TABLE=" + s.table,
		"WX_SSM_PREFIX=" + testPrefix,
		"WX_API_BASE=" + s.simURL,
		"WX_MP_BASE=" + s.simURL,
		// What template.yaml sets for the ticket and message functions.
		"WX_PUSH_WINDOW=300s",
	}
	return s
}

// prepare stores what WeChat would have given the platform by the time
// the functions' cold starts are measured: a live ticket and the sample
// account's authorization.
func (s *stack) prepare(tb testing.TB) {
	tb.Helper()
	ctx := tb.Context()
	st := dynamo.New(s.dynamo, s.table, dynamo.Options{})
	err := st.PutTicket(ctx, store.Ticket{
		ComponentAppID: samples.ComponentAppID, Ticket: samples.Ticket,
		CreateTime: time.Now(), ReceivedAt: time.Now(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	p, err := platform.New(platform.Options{
		Config: samples.Config(s.simURL, s.simURL),
		Store:  st,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := p.Accounts.Authorize(ctx, samples.AuthCode, samples.Customer); err != nil {
		tb.Fatal(err)
	}
}

// function is one running bootstrap and its Runtime API.
type function struct {
	name    string
	rt      *lambdatest.Runtime
	cmd     *exec.Cmd
	out     simtest.SyncBuffer // stdout and stderr, as CloudWatch Logs gets them
	started time.Time          // just before the process started
	exited  chan struct{}
	waitErr error
}

// start runs bin as the function name's execution environment. Stop it
// with stop; a test's cleanup also does.
func start(tb testing.TB, name, bin string, env []string) *function {
	tb.Helper()
	return startCmd(tb, name, []string{bin}, filepath.Dir(bin), env)
}

// startCmd runs argv as the function name's execution environment, with
// its code in taskRoot: a bootstrap, or an interpreter running a runtime.
func startCmd(tb testing.TB, name string, argv []string, taskRoot string, env []string) *function {
	tb.Helper()
	logicalID := strings.ToUpper(name[:1]) + name[1:] + "Function"
	fnName := "wxcomponent-" + testStage + "-" + logicalID
	rt, err := lambdatest.Start("arn:aws:lambda:"+region+":123456789012:function:"+fnName, invokeTimeout)
	if err != nil {
		tb.Fatal(err)
	}
	f := &function{name: name, rt: rt, exited: make(chan struct{})}
	f.cmd = exec.Command(argv[0], argv[1:]...)
	f.cmd.Dir = taskRoot
	f.cmd.Env = append(slices.Clip(env),
		"AWS_LAMBDA_RUNTIME_API="+rt.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME="+fnName,
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/"+fnName,
		"AWS_LAMBDA_LOG_STREAM_NAME="+time.Now().UTC().Format("2006/01/02")+"/[$LATEST]"+strings.ReplaceAll(lambdatest.NewRequestID(), "-", ""),
		"LAMBDA_TASK_ROOT="+taskRoot,
	)
	f.cmd.Stdout = &f.out
	f.cmd.Stderr = &f.out
	f.started = time.Now()
	if err := f.cmd.Start(); err != nil {
		rt.Close()
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() {
		f.waitErr = f.cmd.Wait()
		close(f.exited)
	}()
	tb.Cleanup(f.stop)
	return f
}

// invoke passes payload to the function and returns its response payload;
// a function error, an exit or no answer in time fails tb.
func (f *function) invoke(tb testing.TB, payload []byte) lambdatest.Result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), invokeTimeout)
	defer cancel()
	go func() {
		select {
		case <-f.exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	res, err := f.rt.Invoke(ctx, payload)
	if err != nil {
		select {
		case <-f.exited:
			err = fmt.Errorf("%w; the process exited: %v", err, f.waitErr)
		default:
		}
		tb.Fatalf("invoke %s: %v\noutput:\n%s", f.name, err, f.out.String())
	}
	if res.Err != nil {
		tb.Fatalf("%s returned an error: %v\noutput:\n%s", f.name, res.Err, f.out.String())
	}
	return res
}

// stop ends the process as Lambda ends an idle execution environment.
func (f *function) stop() {
	select {
	case <-f.exited:
	default:
		f.cmd.Process.Kill()
		<-f.exited
	}
	f.rt.Close()
}

// TestBootstrapsAnswerSamples starts every function's bootstrap against a
// local Runtime API, with its secrets in SSM and its table in DynamoDB
// (moto_server), and feeds it the committed samples of events/ in order.
func TestBootstrapsAnswerSamples(t *testing.T) {
	bins := bootstraps(t)
	s := setUp(t)
	committed, err := samples.Events(samples.Start())
	if err != nil {
		t.Fatal(err)
	}
	// The samples are a minute apart; starting four minutes ago keeps every
	// one within the push window of now.
	current, err := samples.Events(time.Now().UTC().Truncate(time.Second).Add(-4 * time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// Samples carry values that expire on the real clock the binaries run
	// on: a push is refused once its timestamp is more than the push window
	// from now, the start link a day from its minting, the callback's state
	// an hour after the start page. After each of them the same sample made
	// for now is fed as well; the committed pushes are refused as stale, and
	// the committed start link and callback get the pages for an expired
	// link, which they earn only once their signatures hold.
	alsoCurrent := map[string]bool{"authorize-start": true, "authorize-callback": true}
	committedWant := map[string]samples.Want{
		"authorize-start":    {Status: 410, Contains: []string{"Link expired"}},
		"authorize-callback": {Status: 400, Contains: []string{"Link expired"}},
	}
	for _, e := range committed {
		if e.Function == routes.Ticket || e.Function == routes.Message {
			alsoCurrent[e.Name] = true
			committedWant[e.Name] = samples.Want{Status: 403}
		}
	}

	fns := map[string]*function{}
	for name, bin := range bins {
		fns[name] = start(t, name, bin, s.env)
	}
	for i, e := range committed {
		f := fns[e.Function]
		if f == nil {
			t.Fatalf("%s: no bootstrap for function %q", e.Name, e.Function)
		}
		payload, err := os.ReadFile(filepath.Join(repoRoot(t), "events", e.Name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		want := e
		if w, ok := committedWant[e.Name]; ok {
			want.Want = w
		}
		if err := samples.Check(want, f.invoke(t, payload).Payload); err != nil {
			t.Errorf("events/%s.json: %v", e.Name, err)
		}
		if alsoCurrent[e.Name] {
			if err := samples.Check(current[i], f.invoke(t, current[i].Payload).Payload); err != nil {
				t.Errorf("%s made for now: %v", e.Name, err)
			}
		}
	}

	for _, name := range slices.Sorted(maps.Keys(fns)) {
		f := fns[name]
		f.stop()
		checkLogs(t, name, f.out.String())
		if t.Failed() {
			t.Logf("%s output:\n%s", name, f.out.String())
		}
	}
}

// checkLogs checks a function's output as CloudWatch Logs would get it:
// every line a JSON object (LoggingConfig LogFormat JSON expects them), and
// no secret anywhere.
func checkLogs(t *testing.T, name, out string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(line, &obj); err != nil {
			t.Errorf("%s: log line is not a JSON object: %s", name, line)
		}
	}
	for what, secret := range map[string]string{
		"app secret": samples.ComponentAppSecret, "message token": samples.ComponentToken,
		"EncodingAESKey": samples.ComponentAESKey, "state secret": samples.StateSecret,
		"ticket": samples.Ticket, "authorization code": samples.AuthCode,
	} {
		if strings.Contains(out, secret) {
			t.Errorf("%s: the logs hold the %s", name, what)
		}
	}
}

// coldStartSamples are the events the cold-start benchmark starts each
// function with: what the function gets most.
var coldStartSamples = map[string]string{
	routes.Ticket:    "ticket-component-verify-ticket",
	routes.Authorize: "authorize-start",
	routes.Message:   "message-text",
	routes.Refresh:   "refresh-schedule",
	routes.Token:     "token-component",
}

// BenchmarkColdStart measures each function's cold start, from process
// start to its first response (loading the secrets from SSM included), with
// a fresh process per iteration, and reports the median and the binary's
// size. Compare with make sizes, which builds for the deployed arm64.
func BenchmarkColdStart(b *testing.B) {
	bins := bootstraps(b)
	s := setUp(b)
	s.prepare(b)
	evs, err := samples.Events(time.Now().UTC().Truncate(time.Second))
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(bins)) {
		i := slices.IndexFunc(evs, func(e samples.Event) bool { return e.Name == coldStartSamples[name] })
		if i < 0 {
			b.Fatalf("no cold-start sample for %s", name)
		}
		e := evs[i]
		b.Run(name, func(b *testing.B) {
			info, err := os.Stat(bins[name])
			if err != nil {
				b.Fatal(err)
			}
			var total, inits []time.Duration
			for b.Loop() {
				f := start(b, name, bins[name], s.env)
				res := f.invoke(b, e.Payload)
				total = append(total, res.At.Sub(f.started))
				inits = append(inits, res.Fetched.Sub(f.started))
				f.stop()
				if err := samples.Check(e, res.Payload); err != nil {
					b.Fatal(err)
				}
			}
			ms := func(ds []time.Duration, q float64) float64 {
				slices.Sort(ds)
				return float64(ds[int(q*float64(len(ds)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(ms(total, 0.5), "ms-median")
			b.ReportMetric(ms(total, 0.9), "ms-p90")
			// Lambda's Init Duration: process start to the first request
			// for an invocation (configuration read from SSM, clients built).
			b.ReportMetric(ms(inits, 0.5), "ms-init-median")
			b.ReportMetric(float64(info.Size())/(1<<20), "MiB")
		})
	}
}
