//go:build unix

package platform_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/wxcomponent/wxcomponent/cmd/wxevents/samples"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// cpuTime is the CPU time the process has used, all threads (the garbage
// collector's included).
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// claimAll is a store whose message claims always succeed and record
// nothing: the DynamoDB request is I/O, counted by BenchmarkAWSRequests,
// not CPU of the message path.
type claimAll struct{ store.Store }

func (claimAll) PutSeenIfAbsent(context.Context, string, []byte, time.Time) ([]byte, error) {
	return nil, nil
}

func (claimAll) PutSeen(context.Context, string, []byte, time.Time) error { return nil }

const (
	cpuCreated = 1_780_000_000
	cpuNonce   = "1372623149"
	cpuReply   = "Thanks! We reply within the hour."
)

// floor is the least any implementation must do for a push and its passive
// reply, in the standard library alone: check both signatures, decode and
// decrypt the message, then encrypt, encode and sign a reply as long as the
// platform's, in WeChat's reply envelope.
type floor struct {
	token, ts, nonce, msgSig, sig, encrypt string
	block                                  cipher.Block
	iv                                     []byte
	reply                                  []byte
}

func sha1Hex(parts ...string) string {
	slices.Sort(parts)
	h := sha1.New()
	for _, p := range parts {
		io.WriteString(h, p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (f *floor) op(tb testing.TB) []byte {
	return f.open(tb, f.sig, f.ts, f.nonce, f.msgSig, f.encrypt)
}

// open is the floor's work on a push's parameters and Encrypt.
func (f *floor) open(tb testing.TB, sig, ts, nonce, msgSig, encrypt string) []byte {
	if sha1Hex(f.token, ts, nonce) != sig || sha1Hex(f.token, ts, nonce, encrypt) != msgSig {
		tb.Fatal("floor: signature mismatch")
	}
	ct, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil || len(ct)%aes.BlockSize != 0 {
		tb.Fatal("floor: bad ciphertext")
	}
	cipher.NewCBCDecrypter(f.block, f.iv).CryptBlocks(ct, ct)
	if n := int(binary.BigEndian.Uint32(ct[16:20])); 20+n > len(ct) {
		tb.Fatal("floor: bad length")
	}

	plain := make([]byte, 0, 20+len(f.reply)+len(samples.ComponentAppID)+32)
	plain = append(plain, make([]byte, 16)...)
	rand.Read(plain[:16])
	plain = binary.BigEndian.AppendUint32(plain, uint32(len(f.reply)))
	plain = append(plain, f.reply...)
	plain = append(plain, samples.ComponentAppID...)
	pad := 32 - len(plain)%32
	plain = append(plain, bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(f.block, f.iv).CryptBlocks(plain, plain)
	enc := base64.StdEncoding.EncodeToString(plain)
	return []byte("<xml><Encrypt><![CDATA[" + enc + "]]></Encrypt><MsgSignature><![CDATA[" + sha1Hex(f.token, ts, nonce, enc) +
		"]]></MsgSignature><TimeStamp>" + ts + "</TimeStamp><Nonce><![CDATA[" + nonce + "]]></Nonce></xml>")
}

// entry is the floor entered as Lambda enters a function: aws-lambda-go
// decodes the same invocation into its API Gateway event type, the floor
// does its work on the event's query and body, and the response event is
// encoded. Any Go function behind API Gateway pays for this entry, so the
// ratio to it is what the product adds.
func (f *floor) entry(tb testing.TB) lambda.Handler {
	const open, end = "<Encrypt><![CDATA[", "]]></Encrypt>"
	return lambda.NewHandler(func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		_, rest, _ := strings.Cut(ev.Body, open)
		encrypt, _, _ := strings.Cut(rest, end)
		q := ev.QueryStringParameters
		out := f.open(tb, q["signature"], q["timestamp"], q["nonce"], q["msg_signature"], encrypt)
		return events.APIGatewayV2HTTPResponse{
			StatusCode: 200,
			Headers:    map[string]string{"Content-Type": "text/xml; charset=utf-8"},
			Body:       string(out),
		}, nil
	})
}

// BenchmarkMessageCPU measures the message function's path for a new text
// message with a passive text reply, entered as Lambda enters it: the
// invocation's JSON through aws-lambda-go's handler, the API Gateway
// adapter, the access log, the handler (signatures, decryption, parsing,
// the account check, the claim, routing, the reply) and the response's JSON.
// Rounds of it alternate with rounds of the standard-library floor (see
// floor), so that both see the same machine. ns/op and cpu-ns/op are the
// Lambda path's (CPU time of the whole process, the garbage collector
// included); floor-ns/op and floor-cpu-ns/op the floor's; x-floor-cpu the
// ratio of their CPU times.
//
//	go test -run '^$' -bench MessageCPU -benchtime 20000x -count 6 ./shared/platform
func BenchmarkMessageCPU(b *testing.B) {
	p, err := platform.New(platform.Options{
		Config: samples.Config("http://127.0.0.1:1", "http://127.0.0.1:1"),
		Store:  claimAll{simtest.OpenStore(b, nil)},
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Now:    func() time.Time { return time.Unix(cpuCreated+1, 0) },
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.Store.PutAuthorizer(context.Background(), store.Authorizer{AppID: samples.AuthorizerAppID, RefreshToken: "r", Status: store.StatusActive}); err != nil {
		b.Fatal(err)
	}
	if err := p.Store.PutProfile(context.Background(), store.Profile{AppID: samples.AuthorizerAppID, UserName: samples.AuthorizerUserName}); err != nil {
		b.Fatal(err)
	}
	p.Messages.Handle(message.TypeText, func(context.Context, *message.Message) (message.Reply, error) {
		return message.TextReply(cpuReply), nil
	})
	h, err := p.MessageHandler()
	if err != nil {
		b.Fatal(err)
	}
	// As StartHTTPFunction starts it.
	entry := lambda.NewHandler(httpadapter.NewV2(h).ProxyWithContext)

	c, err := wxcrypto.New(samples.ComponentToken, samples.ComponentAESKey, samples.ComponentAppID)
	if err != nil {
		b.Fatal(err)
	}
	plain := wxxml.Build(
		wxxml.Text("ToUserName", samples.AuthorizerUserName),
		wxxml.Text("FromUserName", samples.UserOpenID),
		wxxml.Int("CreateTime", cpuCreated),
		wxxml.Text("MsgType", "text"),
		wxxml.Text("Content", "Hello, how do I reach your shop?"),
		wxxml.Int("MsgId", 1e15),
	)
	encrypt, err := c.Encrypt(plain)
	if err != nil {
		b.Fatal(err)
	}
	ts := strconv.Itoa(cpuCreated)
	f := &floor{token: samples.ComponentToken, ts: ts, nonce: cpuNonce, encrypt: encrypt,
		sig:    wxcrypto.Signature(samples.ComponentToken, ts, cpuNonce),
		msgSig: wxcrypto.MsgSignature(samples.ComponentToken, ts, cpuNonce, encrypt)}
	key, _ := base64.StdEncoding.DecodeString(samples.ComponentAESKey + "=")
	f.iv = key[:16]
	if f.block, err = aes.NewCipher(key); err != nil {
		b.Fatal(err)
	}
	// The floor replies with a document as long as the platform's.
	f.reply = make([]byte, len(wxxml.Build(
		wxxml.Text("ToUserName", samples.UserOpenID),
		wxxml.Text("FromUserName", samples.AuthorizerUserName),
		wxxml.Int("CreateTime", cpuCreated+1),
		wxxml.Text("MsgType", "text"),
		wxxml.Text("Content", cpuReply),
	)))

	q := url.Values{}
	q.Set("signature", f.sig)
	q.Set("timestamp", ts)
	q.Set("nonce", cpuNonce)
	q.Set("openid", samples.UserOpenID)
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", f.msgSig)
	path := "/wechat/" + samples.AuthorizerAppID + "/callback"
	// API Gateway does not escape the body's "<" and ">" as json.Marshal does.
	var event bytes.Buffer
	enc := json.NewEncoder(&event)
	enc.SetEscapeHTML(false)
	err = enc.Encode(events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "POST /wechat/{appid}/callback",
		RawPath:        path,
		RawQueryString: q.Encode(),
		Headers: map[string]string{
			"content-type": "text/xml", "user-agent": "Mozilla/4.0", "host": "api.example.com",
			"x-forwarded-for": "101.226.103.61", "x-forwarded-proto": "https", "x-forwarded-port": "443",
		},
		QueryStringParameters: map[string]string{"signature": f.sig, "timestamp": ts, "nonce": cpuNonce,
			"openid": samples.UserOpenID, "encrypt_type": "aes", "msg_signature": f.msgSig},
		PathParameters: map[string]string{"appid": samples.AuthorizerAppID},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: "POST /wechat/{appid}/callback", AccountID: "123456789012", Stage: "$default",
			RequestID: "Jx1bHg3PIAMEV2A=", APIID: "a1b2c3d4e5", DomainName: "api.example.com", Time: "01/Jun/2026:08:00:00 +0000",
			TimeEpoch: cpuCreated * 1000,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: "POST", Path: path, Protocol: "HTTP/1.1", SourceIP: "101.226.103.61", UserAgent: "Mozilla/4.0",
			},
		},
		Body: "<xml><ToUserName><![CDATA[" + samples.AuthorizerUserName + "]]></ToUserName><Encrypt><![CDATA[" + encrypt + "]]></Encrypt></xml>",
	})
	if err != nil {
		b.Fatal(err)
	}
	payload := event.Bytes()
	benchInterleaved(b, entry, payload, f)
}

// benchInterleaved runs rounds of invocations of the message function
// through invoke, alternating with as many rounds of the floor and of the
// floor through the Lambda entry.
func benchInterleaved(b *testing.B, invoke lambda.Handler, payload []byte, f *floor) {
	ctx := context.Background()
	call := func(h lambda.Handler) {
		out, err := h.Invoke(ctx, payload)
		if err != nil || !bytes.Contains(out, []byte(`"statusCode":200`)) || !bytes.Contains(out, []byte("MsgSignature")) {
			b.Fatalf("invocation: %v: %.300s", err, out)
		}
	}
	entry := f.entry(b)
	sides := []struct {
		op       func()
		cpu      time.Duration
		measured bool // by the benchmark's own timer and allocation count
	}{
		{op: func() { f.op(b) }},
		{op: func() { call(entry) }},
		{op: func() { call(invoke) }, measured: true},
	}
	for _, side := range sides {
		side.op() // the account's first check reads the store; later ones are cached
	}

	const round = 500
	b.ReportAllocs()
	b.ResetTimer()
	b.StopTimer()
	for done := 0; done < b.N; {
		n := min(round, b.N-done)
		for i := range sides {
			side := &sides[i]
			if side.measured {
				b.StartTimer()
			}
			cpu := cpuTime(b)
			for range n {
				side.op()
			}
			side.cpu += cpuTime(b) - cpu
			if side.measured {
				b.StopTimer()
			}
		}
		done += n
	}
	perOp := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	floor, entryFloor, product := sides[0].cpu, sides[1].cpu, sides[2].cpu
	b.ReportMetric(perOp(product), "cpu-ns/op")
	b.ReportMetric(perOp(floor), "floor-cpu-ns/op")
	b.ReportMetric(perOp(entryFloor), "entry-floor-cpu-ns/op")
	b.ReportMetric(float64(product)/float64(floor), "x-floor-cpu")
	b.ReportMetric(float64(product)/float64(entryFloor), "x-entry-floor-cpu")
}
