package samples

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/authorize"
)

// signState returns the state the start page at issued would put into its
// redirect_uri for customer, with a fixed nonce, in package authorize's
// format "v1.<payload>.<mac>". Package authorize keeps its signing
// unexported, so this follows its format; the samples' tests feed the
// result to the real callback, which rejects it if the two ever differ.
func signState(secret, customer string, issued time.Time, nonce [32]byte) (string, error) {
	payload, err := json.Marshal(struct {
		Customer  string `json:"c,omitempty"`
		AuthType  int    `json:"t,omitempty"`
		IssuedAt  int64  `json:"iat"`
		ExpiresAt int64  `json:"exp"`
		Nonce     string `json:"n"`
	}{
		Customer:  customer,
		AuthType:  3, // the start page's default: official accounts and mini programs
		IssuedAt:  issued.Unix(),
		ExpiresAt: issued.Add(authorize.StateTTL).Unix(),
		Nonce:     base64.RawURLEncoding.EncodeToString(nonce[:16]),
	})
	if err != nil {
		return "", fmt.Errorf("sample state: %w", err)
	}
	key := hmac.New(sha256.New, []byte(secret))
	key.Write([]byte("wxcomponent authorize state v1"))
	signed := "v1." + base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, key.Sum(nil))
	mac.Write([]byte(signed))
	return signed + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}
