// Package pushtest builds WeChat pushes for tests with an implementation
// independent of package wxcrypto: AES-256-CBC by the openssl command, the
// layout and padding written out here from WeChat's documentation. A push
// that package wxcrypto accepts from here was not merely encrypted and
// decrypted by the same (possibly wrong) code.
package pushtest

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// Component is the platform's message-crypto settings.
type Component struct {
	AppID          string
	Token          string
	EncodingAESKey string
}

// Push is a signed, encrypted push as WeChat sends it.
type Push struct {
	Query url.Values
	Body  []byte
}

// Request returns the push as a POST to path.
func (p Push) Request(path string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path+"?"+p.Query.Encode(), bytes.NewReader(p.Body))
	r.Header.Set("Content-Type", "text/xml")
	return r
}

// Seal encrypts plaintext for c (with tail appid c.AppID), signs it and
// wraps it in the envelope whose first element is outer ("AppId" for the
// authorization-event URL, "ToUserName" for the message URL) with value
// outerValue.
func Seal(tb testing.TB, c Component, plaintext []byte, outer, outerValue, timestamp, nonce string) Push {
	tb.Helper()
	encrypt := Encrypt(tb, c.EncodingAESKey, []byte("0123456789abcdef"), plaintext, c.AppID)
	q := url.Values{}
	q.Set("signature", Sign(c.Token, timestamp, nonce))
	q.Set("timestamp", timestamp)
	q.Set("nonce", nonce)
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", Sign(c.Token, timestamp, nonce, encrypt))
	body := fmt.Sprintf("<xml><%s><![CDATA[%s]]></%s><Encrypt><![CDATA[%s]]></Encrypt></xml>", outer, outerValue, outer, encrypt)
	return Push{Query: q, Body: []byte(body)}
}

// Encrypt returns base64(AES-256-CBC(random | len | msg | appid)) padded
// with PKCS#7 to 32-byte blocks, encrypted by `openssl enc`.
func Encrypt(tb testing.TB, encodingAESKey string, random, msg []byte, appID string) string {
	tb.Helper()
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		tb.Fatalf("EncodingAESKey %q does not decode to 32 bytes", encodingAESKey)
	}
	var plain bytes.Buffer
	plain.Write(random)
	_ = binary.Write(&plain, binary.BigEndian, uint32(len(msg)))
	plain.Write(msg)
	plain.WriteString(appID)
	pad := 32 - plain.Len()%32
	plain.Write(bytes.Repeat([]byte{byte(pad)}, pad))

	cmd := exec.Command("openssl", "enc", "-aes-256-cbc", "-nopad", "-nosalt",
		"-K", hex.EncodeToString(key), "-iv", hex.EncodeToString(key[:16]))
	cmd.Stdin = &plain
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("openssl enc (is openssl installed?): %v", err)
	}
	return base64.StdEncoding.EncodeToString(out)
}

// Sign is WeChat's signature: sha1 of the sorted values, concatenated.
func Sign(values ...string) string {
	v := append([]string(nil), values...)
	sort.Strings(v)
	sum := sha1.Sum([]byte(strings.Join(v, "")))
	return hex.EncodeToString(sum[:])
}
