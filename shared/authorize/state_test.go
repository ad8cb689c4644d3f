package authorize

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const testSecret = "0123456789abcdef0123456789abcdef-state"

func TestStateRoundTrip(t *testing.T) {
	c := newStateCodec(testSecret)
	now := time.Unix(1_700_000_000, 0)
	in := state{Customer: "cust-42 客户", AuthType: 2, IssuedAt: now.Unix(), ExpiresAt: now.Add(StateTTL).Unix()}
	raw, err := c.sign(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, "v1.") || strings.ContainsAny(raw, "+/=?&# ") {
		t.Errorf("state %q is not v1 URL-safe base64", raw)
	}
	out, err := c.verify(raw, now.Add(StateTTL-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if out.Customer != in.Customer || out.AuthType != in.AuthType || out.Nonce == "" {
		t.Errorf("verify = %+v, want %+v with a nonce", out, in)
	}
	again, _ := c.sign(in)
	if again == raw {
		t.Error("two states for the same customer are equal; want a fresh nonce each")
	}
}

func TestStateVerifyRejects(t *testing.T) {
	c := newStateCodec(testSecret)
	now := time.Unix(1_700_000_000, 0)
	valid := func(st state) string {
		raw, err := c.sign(st)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	good := valid(state{Customer: "cust-1", AuthType: 3, IssuedAt: now.Unix(), ExpiresAt: now.Add(StateTTL).Unix()})
	payload := strings.Split(good, ".")[1]
	// flip changes one character of s at i to another base64url character.
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	other, _ := newStateCodec("another-secret-another-secret-another").sign(state{Customer: "cust-1", IssuedAt: now.Unix(), ExpiresAt: now.Add(StateTTL).Unix()})

	tests := []struct {
		name string
		raw  string
		now  time.Time
		want error
	}{
		{"empty", "", now, errStateMissing},
		{"garbage", "not-a-state", now, errStateForged},
		{"payload changed", flip(good, 5), now, errStateForged},
		{"signature changed", flip(good, len(good)-3), now, errStateForged},
		{"signature cut", good[:len(good)-4], now, errStateForged},
		{"signature missing", "v1." + payload, now, errStateForged},
		{"other secret", other, now, errStateForged},
		{"other version", "v2" + good[2:], now, errStateForged},
		{"too long", good + strings.Repeat("A", maxStateLen), now, errStateForged},
		{"expired", good, now.Add(StateTTL), errStateExpired},
		{"long expired", good, now.Add(30 * 24 * time.Hour), errStateExpired},
		{"issued in the future", good, now.Add(-clockSkew - time.Second), errStateForged},
		{"no nonce", valid(state{Nonce: "", IssuedAt: now.Unix(), ExpiresAt: now.Unix()}), now, errStateForged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.verify(tt.raw, tt.now)
			if !errors.Is(err, tt.want) {
				t.Errorf("verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestStateExpiredKeepsOptions(t *testing.T) {
	c := newStateCodec(testSecret)
	now := time.Unix(1_700_000_000, 0)
	raw, _ := c.sign(state{Customer: "cust-9", BizAppID: "wx0123456789abcdef", IssuedAt: now.Unix(), ExpiresAt: now.Add(StateTTL).Unix()})
	st, err := c.verify(raw, now.Add(2*StateTTL))
	if !errors.Is(err, errStateExpired) || st.Customer != "cust-9" || st.BizAppID != "wx0123456789abcdef" {
		t.Errorf("verify = %+v, %v; want the options with errStateExpired", st, err)
	}
}

func FuzzStateVerify(f *testing.F) {
	c := newStateCodec(testSecret)
	now := time.Unix(1_700_000_000, 0)
	// A fixed nonce: every fuzzing process must sign the same state.
	good, _ := c.sign(state{Customer: "cust", IssuedAt: now.Unix(), ExpiresAt: now.Add(StateTTL).Unix(), Nonce: "fixed"})
	f.Add(good)
	f.Add("v1..")
	f.Add("v1.e30.")
	f.Fuzz(func(t *testing.T, raw string) {
		st, err := c.verify(raw, now)
		// Only the state this codec signed verifies: a fuzzer cannot forge
		// the MAC, and no other spelling of the same state is accepted.
		if err == nil && raw != good {
			t.Fatalf("forged state %q verified as %+v", raw, st)
		}
	})
}
