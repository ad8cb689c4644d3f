package wxcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// vector is one entry of testdata/vectors.json.
type vector struct {
	Name           string `json:"name"`
	Source         string `json:"source"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encoding_aes_key"`
	AppID          string `json:"appid"`
	Timestamp      string `json:"timestamp"`
	Nonce          string `json:"nonce"`
	MsgSignature   string `json:"msg_signature"`
	Encrypt        string `json:"encrypt"`
	Plaintext      string `json:"plaintext"`
	Random         string `json:"random"`
	ReplyEnvelope  string `json:"reply_envelope"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Vectors []vector }
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return file.Vectors
}

func TestVectors(t *testing.T) {
	sources := map[string]bool{}
	for _, v := range loadVectors(t) {
		sources[strings.Fields(v.Source)[0]] = true
		t.Run(v.Name, func(t *testing.T) {
			c, err := New(v.Token, v.EncodingAESKey, v.AppID)
			if err != nil {
				t.Fatal(err)
			}
			if v.MsgSignature != "" {
				if got := MsgSignature(v.Token, v.Timestamp, v.Nonce, v.Encrypt); got != v.MsgSignature {
					t.Errorf("MsgSignature = %s, want %s", got, v.MsgSignature)
				}
				if err := c.VerifyMsgSignature(v.MsgSignature, v.Timestamp, v.Nonce, v.Encrypt); err != nil {
					t.Errorf("VerifyMsgSignature: %v", err)
				}
			}
			msg, err := c.Decrypt(v.Encrypt)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if string(msg) != v.Plaintext {
				t.Errorf("Decrypt = %q, want %q", msg, v.Plaintext)
			}
			if v.Random != "" {
				if len(v.Random) != 16 {
					t.Fatalf("random %q is not 16 bytes", v.Random)
				}
				if got := c.EncryptWithRandom([16]byte([]byte(v.Random)), []byte(v.Plaintext)); got != v.Encrypt {
					t.Errorf("EncryptWithRandom = %s, want %s", got, v.Encrypt)
				}
			}
			if v.ReplyEnvelope != "" {
				msg, err := c.OpenReply([]byte(v.ReplyEnvelope))
				if err != nil {
					t.Fatalf("OpenReply: %v", err)
				}
				if string(msg) != v.Plaintext {
					t.Errorf("OpenReply = %q, want %q", msg, v.Plaintext)
				}
			}
			// The same ciphertext under another appid must not decrypt.
			other, err := New(v.Token, v.EncodingAESKey, v.AppID+"x")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.Decrypt(v.Encrypt); !errors.Is(err, ErrAppID) {
				t.Errorf("Decrypt with another appid: %v, want ErrAppID", err)
			}
		})
	}
	if len(sources) < 4 {
		t.Errorf("vectors come from %d sources, want at least 4", len(sources))
	}
}

func TestSignature(t *testing.T) {
	tests := []struct {
		name             string
		token, ts, nonce string
		want             string
	}{
		// sha1("abc"): silenceper/wechat util/signature_test.go signs "a", "b", "c".
		{"sorted", "a", "b", "c", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"unsorted", "c", "a", "b", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		// sha1("") is the signature over three empty values.
		{"empty", "", "", "", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Signature(tt.token, tt.ts, tt.nonce); got != tt.want {
				t.Errorf("Signature = %s, want %s", got, tt.want)
			}
		})
	}
	// MsgSignature sorts too: it does not matter which value is the ciphertext.
	if a, b := MsgSignature("t", "1", "2", "x"), MsgSignature("x", "2", "1", "t"); a != b {
		t.Errorf("MsgSignature depends on argument order: %s != %s", a, b)
	}
	// Long values go through the hash in several chunks.
	long := strings.Repeat("Z", 5000)
	if a, b := MsgSignature("t", "1", "2", long), MsgSignature(long, "1", "2", "t"); a != b {
		t.Errorf("MsgSignature of a long value depends on argument order")
	}
}

func testCrypter(t testing.TB) *Crypter {
	t.Helper()
	c, err := New("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVerifySignature(t *testing.T) {
	c := testCrypter(t)
	const ts, nonce = "1409659813", "1372623149"
	good := Signature(c.Token(), ts, nonce)
	lastDigitOff := good[:39] + "0"
	if good[39] == '0' {
		lastDigitOff = good[:39] + "1"
	}
	tests := []struct {
		name, sig, ts, nonce string
		ok                   bool
	}{
		{"good", good, ts, nonce, true},
		{"uppercase", strings.ToUpper(good), ts, nonce, false},
		{"last digit off", lastDigitOff, ts, nonce, false},
		{"short", good[:39], ts, nonce, false},
		{"long", good + "0", ts, nonce, false},
		{"empty", "", ts, nonce, false},
		{"other timestamp", good, "1409659814", nonce, false},
		{"other nonce", good, ts, "1372623148", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.VerifySignature(tt.sig, tt.ts, tt.nonce)
			if tt.ok != (err == nil) || err != nil && !errors.Is(err, ErrSignature) {
				t.Errorf("VerifySignature = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestVerifyMsgSignature(t *testing.T) {
	c := testCrypter(t)
	const ts, nonce = "1409659813", "1372623149"
	encrypt := c.EncryptWithRandom([16]byte{}, []byte("<xml/>"))
	good := MsgSignature(c.Token(), ts, nonce, encrypt)
	tests := []struct {
		name, sig, encrypt string
		ok                 bool
	}{
		{"good", good, encrypt, true},
		{"URL signature instead", Signature(c.Token(), ts, nonce), encrypt, false},
		{"other ciphertext", good, encrypt[1:], false},
		{"trailing newline", good, encrypt + "\n", false},
		{"empty signature", "", encrypt, false},
		{"uppercase", strings.ToUpper(good), encrypt, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.VerifyMsgSignature(tt.sig, ts, nonce, tt.encrypt)
			if tt.ok != (err == nil) || err != nil && !errors.Is(err, ErrSignature) {
				t.Errorf("VerifyMsgSignature = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestDecodeAESKey(t *testing.T) {
	valid := "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	tests := []struct {
		name, key string
		ok        bool
	}{
		{"official sample", valid, true},
		{"spare bits set", "0t37dWsIYg6NsVLgEY1fNuB1rSLyyeQEHOAlIfMhQUV", true},
		{"plus and slash", "+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+", true},
		{"empty", "", false},
		{"42 characters", valid[:42], false},
		{"44 characters", valid + "A", false},
		{"with padding", valid[:42] + "=", false},
		{"url alphabet", valid[:42] + "-", false},
		{"underscore", "_" + valid[1:], false},
		{"space", valid[:20] + " " + valid[21:], false},
		{"non-ASCII", valid[:41] + "é", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := DecodeAESKey(tt.key)
			if !tt.ok {
				if !errors.Is(err, ErrAESKey) {
					t.Errorf("DecodeAESKey = %v, want ErrAESKey", err)
				}
				if _, err := New("token", tt.key, "appid"); !errors.Is(err, ErrAESKey) {
					t.Errorf("New = %v, want ErrAESKey", err)
				}
				return
			}
			if err != nil || len(key) != 32 {
				t.Errorf("DecodeAESKey = %x, %v; want 32 bytes", key, err)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	const key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	if _, err := New("", key, "wx1"); err == nil {
		t.Error("New accepted an empty token")
	}
	if _, err := New("token", key, ""); err == nil {
		t.Error("New accepted an empty appid")
	}
	c, err := New("token", key, "wx1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Token() != "token" || c.AppID() != "wx1" {
		t.Errorf("Token, AppID = %q, %q", c.Token(), c.AppID())
	}
}

func TestRoundTrip(t *testing.T) {
	c := testCrypter(t)
	// The appid is 18 bytes and the header 20, so 26 fills a 64-byte plaintext
	// exactly and 25 pads by one byte.
	for _, n := range []int{0, 1, 15, 16, 17, 25, 26, 27, 31, 32, 33, 58, 63, 64, 65, 1000, 1 << 16} {
		msg := bytes.Repeat([]byte{'a' + byte(n%26)}, n)
		enc, err := c.Encrypt(msg)
		if err != nil {
			t.Fatalf("%d bytes: Encrypt: %v", n, err)
		}
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			t.Fatal(err)
		}
		plainLen := 20 + n + len(c.AppID())
		if want := plainLen + 32 - plainLen%32; len(raw) != want {
			t.Errorf("%d bytes: ciphertext of %d bytes, want %d", n, len(raw), want)
		}
		got, err := c.Decrypt(enc)
		if err != nil {
			t.Fatalf("%d bytes: Decrypt: %v", n, err)
		}
		if !bytes.Equal(got, msg) {
			t.Errorf("%d bytes: round trip changed the message", n)
		}
	}
}

func TestEncryptIsRandomized(t *testing.T) {
	c := testCrypter(t)
	a, _ := c.Encrypt([]byte("same"))
	b, _ := c.Encrypt([]byte("same"))
	if a == b {
		t.Error("two encryptions of one message are equal")
	}
}

// rawCiphertext encrypts plain, a multiple of 16 bytes that the test lays out
// itself, under c's key, so that malformed plaintexts can be tested.
func rawCiphertext(t *testing.T, plain []byte) string {
	t.Helper()
	key, err := DecodeAESKey("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(ct, plain)
	return base64.StdEncoding.EncodeToString(ct)
}

// layout builds random(16) | length | msg | appid followed by pad, as is.
func layout(length uint32, msg, appID string, pad []byte) []byte {
	b := make([]byte, 16, 64)
	b = binary.BigEndian.AppendUint32(b, length)
	b = append(b, msg...)
	b = append(b, appID...)
	return append(b, pad...)
}

// padTo returns PKCS#7 padding of n bytes of value n.
func padTo(n int) []byte { return bytes.Repeat([]byte{byte(n)}, n) }

func TestDecryptErrors(t *testing.T) {
	c := testCrypter(t)
	appID := c.AppID()
	// 16 + 4 + 2 + 18 = 40 bytes before padding: 24 pad bytes make 64.
	tests := []struct {
		name    string
		encrypt string
		want    error
	}{
		{"control: well formed", rawCiphertext(t, layout(2, "hi", appID, padTo(24))), nil},
		{"control: full pad block", rawCiphertext(t, layout(26, "hi"+strings.Repeat("-", 24), appID, padTo(32))), nil},
		{"bad base64 character", "!!!!", ErrBase64},
		{"bad base64 length", "QUJD" + "QQ", ErrBase64},
		{"base64 with space", "QUJD QUJD", ErrBase64},
		{"empty", "", ErrBlockSize},
		{"15 bytes", base64.StdEncoding.EncodeToString(make([]byte, 15)), ErrBlockSize},
		{"17 bytes", base64.StdEncoding.EncodeToString(make([]byte, 17)), ErrBlockSize},
		{"33 bytes", base64.StdEncoding.EncodeToString(make([]byte, 33)), ErrBlockSize},
		{"pad 0", rawCiphertext(t, layout(2, "hi", appID, append(padTo(23), 0))), ErrPadding},
		{"pad 33", rawCiphertext(t, append(layout(2, "hi", appID, padTo(24)), bytes.Repeat([]byte{33}, 32)...)), ErrPadding},
		{"pad 255", rawCiphertext(t, layout(2, "hi", appID, append(padTo(23), 255))), ErrPadding},
		{"pad longer than the ciphertext", rawCiphertext(t, bytes.Repeat([]byte{20}, 16)), ErrPadding},
		{"inconsistent pad bytes", rawCiphertext(t, layout(2, "hi", appID, append(append(padTo(22), 23), 24))), ErrPadding},
		{"inconsistent first pad byte", rawCiphertext(t, layout(2, "hi", appID, append([]byte{0}, padTo(24)[1:]...))), ErrPadding},
		{"truncated: 16 bytes of plaintext", rawCiphertext(t, append(make([]byte, 16), padTo(16)...)), ErrLength},
		{"truncated: 19 bytes of plaintext", rawCiphertext(t, append(make([]byte, 19), padTo(13)...)), ErrLength},
		{"length past the end", rawCiphertext(t, layout(41, "hi", appID, padTo(24))), ErrLength},
		{"length 2^32-1", rawCiphertext(t, layout(0xFFFFFFFF, "hi", appID, padTo(24))), ErrLength},
		{"length short of the message", rawCiphertext(t, layout(1, "hi", appID, padTo(24))), ErrAppID},
		{"wrong appid", rawCiphertext(t, layout(2, "hi", "wx5823bf96d3bd56c8", padTo(24))), ErrAppID},
		{"no appid", rawCiphertext(t, layout(2, "hi", "", padTo(10))), ErrAppID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := c.Decrypt(tt.encrypt)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Decrypt: %v", err)
				}
				if !strings.HasPrefix(string(msg), "hi") {
					t.Errorf("Decrypt = %q", msg)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Decrypt = %q, %v; want %v", msg, err, tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "wxcrypto: decrypt: ") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}

var replyPattern = regexp.MustCompile(`^<xml><Encrypt><!\[CDATA\[([A-Za-z0-9+/=]+)\]\]></Encrypt><MsgSignature><!\[CDATA\[([0-9a-f]{40})\]\]></MsgSignature><TimeStamp>(\d+)</TimeStamp><Nonce><!\[CDATA\[([^\]]+)\]\]></Nonce></xml>$`)

func TestSealReply(t *testing.T) {
	c := testCrypter(t)
	for _, msg := range []string{"", "success", "<xml><Content><![CDATA[hi]]></Content></xml>", strings.Repeat("长", 3000)} {
		env, err := c.SealReply([]byte(msg), "1409659813", "1372623149")
		if err != nil {
			t.Fatal(err)
		}
		m := replyPattern.FindSubmatch(env)
		if m == nil {
			t.Fatalf("envelope does not have WeChat's layout: %s", env)
		}
		if cap(env) != len(env) {
			t.Errorf("envelope exposes %d bytes of scratch capacity", cap(env)-len(env))
		}
		encrypt, sig := string(m[1]), string(m[2])
		if string(m[3]) != "1409659813" || string(m[4]) != "1372623149" {
			t.Errorf("timestamp, nonce = %s, %s", m[3], m[4])
		}
		if want := MsgSignature(c.Token(), "1409659813", "1372623149", encrypt); sig != want {
			t.Errorf("MsgSignature = %s, want %s", sig, want)
		}
		f, err := wxxml.Parse(env)
		if err != nil || f.Get("Encrypt") != encrypt {
			t.Errorf("wxxml.Parse = %v, %v", f.All(), err)
		}
		got, err := c.OpenReply(env)
		if err != nil {
			t.Fatalf("OpenReply: %v", err)
		}
		if string(got) != msg {
			t.Errorf("OpenReply = %q, want %q", got, msg)
		}
	}
}

func TestSealReplyRejectsUnsafeParameters(t *testing.T) {
	c := testCrypter(t)
	tests := []struct{ name, ts, nonce string }{
		{"empty timestamp", "", "1"},
		{"timestamp with letters", "12a", "1"},
		{"timestamp with markup", "1</TimeStamp>", "1"},
		{"timestamp too long", strings.Repeat("1", 21), "1"},
		{"empty nonce", "1", ""},
		{"nonce closing CDATA", "1", "a]]>b"},
		{"nonce with space", "1", "a b"},
		{"nonce too long", "1", strings.Repeat("n", 65)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if env, err := c.SealReply([]byte("x"), tt.ts, tt.nonce); err == nil {
				t.Errorf("SealReply = %s, want an error", env)
			}
		})
	}
}

func TestOpenReplyErrors(t *testing.T) {
	c := testCrypter(t)
	env, err := c.SealReply([]byte("reply"), "1409659813", "1372623149")
	if err != nil {
		t.Fatal(err)
	}
	other, err := New("other", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", c.AppID())
	if err != nil {
		t.Fatal(err)
	}
	otherAppID, err := New(c.Token(), "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx0000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		crypter  *Crypter
		envelope string
		want     error
	}{
		{"other token", other, string(env), ErrSignature},
		{"other appid", otherAppID, string(env), ErrAppID},
		{"other timestamp", c, strings.Replace(string(env), "1409659813", "1409659814", 1), ErrSignature},
		{"other nonce", c, strings.Replace(string(env), "1372623149", "1372623140", 1), ErrSignature},
		{"no signature", c, regexp.MustCompile(`<MsgSignature>.*</MsgSignature>`).ReplaceAllString(string(env), ""), ErrSignature},
		{"no Encrypt", c, "<xml><MsgSignature>x</MsgSignature></xml>", nil},
		{"not XML", c, "success", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := tt.crypter.OpenReply([]byte(tt.envelope))
			if err == nil {
				t.Fatalf("OpenReply = %q, want an error", msg)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("OpenReply: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	c := testCrypter(t)
	msg := bytes.Repeat([]byte("x"), 1024)
	enc := c.EncryptWithRandom([16]byte{}, msg)
	sig := MsgSignature(c.Token(), "1409659813", "1372623149", enc)
	urlSig := Signature(c.Token(), "1409659813", "1372623149")
	tests := []struct {
		name string
		max  float64
		f    func()
	}{
		{"VerifySignature", 0, func() {
			if c.VerifySignature(urlSig, "1409659813", "1372623149") != nil {
				panic("bad signature")
			}
		}},
		{"VerifyMsgSignature", 0, func() { _ = c.VerifyMsgSignature(sig, "1409659813", "1372623149", enc) }},
		{"Decrypt", 1, func() { _, _ = c.Decrypt(enc) }},
		{"SealReply", 1, func() { _, _ = c.SealReply(msg, "1409659813", "1372623149") }},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(50, tt.f); got > tt.max {
			t.Errorf("%s: %v allocations, want at most %v", tt.name, got, tt.max)
		}
	}
}

func BenchmarkVerifyDecrypt1KiB(b *testing.B) {
	c := testCrypter(b)
	msg := bytes.Repeat([]byte("x"), 1024)
	enc := c.EncryptWithRandom([16]byte{}, msg)
	sig := MsgSignature(c.Token(), "1409659813", "1372623149", enc)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := c.VerifyMsgSignature(sig, "1409659813", "1372623149", enc); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Decrypt(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealReply(b *testing.B) {
	c := testCrypter(b)
	reply := wxxml.Build(
		wxxml.Text("ToUserName", "oia2TjjewbmiOUlr6X-1crbLOvLw"),
		wxxml.Text("FromUserName", "gh_7f083739789a"),
		wxxml.Int("CreateTime", 1407743423),
		wxxml.Text("MsgType", "text"),
		wxxml.Text("Content", "TESTCOMPONENT_MSG_TYPE_TEXT_callback"),
	)
	b.ReportAllocs()
	b.SetBytes(int64(len(reply)))
	for b.Loop() {
		if _, err := c.SealReply(reply, "1409659813", "1372623149"); err != nil {
			b.Fatal(err)
		}
	}
}
