package signedtoken_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/signedtoken"
)

type value struct {
	Who string `json:"w"`
	signedtoken.Times
}

func TestSignAndOpen(t *testing.T) {
	const secret = "a-state-secret-of-thirty-two-bytes!"
	now := time.Unix(1_780_000_000, 0)
	s := signedtoken.New(secret, "test", "v1", 256)
	good, err := s.Sign(value{Who: "cust-42", Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()}})
	if err != nil {
		t.Fatal(err)
	}
	payload := good[len("v1."):strings.LastIndexByte(good, '.')]
	tests := []struct {
		name  string
		raw   string
		open  signedtoken.Signer
		want  error
		check bool // expect the value
	}{
		{"good", good, s, nil, true},
		{"empty", "", s, signedtoken.ErrMissing, false},
		{"other purpose", good, signedtoken.New(secret, "other", "v1", 256), signedtoken.ErrForged, false},
		{"other secret", good, signedtoken.New(secret+"x", "test", "v1", 256), signedtoken.ErrForged, false},
		{"other version", good, signedtoken.New(secret, "test", "v2", 256), signedtoken.ErrForged, false},
		{"too long", good, signedtoken.New(secret, "test", "v1", len(good)-1), signedtoken.ErrForged, false},
		{"no signature", "v1." + payload, s, signedtoken.ErrForged, false},
		{"signature padded", good + "=", s, signedtoken.ErrForged, false},
		{"payload changed", "v1." + payload + "x" + good[strings.LastIndexByte(good, '.'):], s, signedtoken.ErrForged, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v value
			err := tt.open.Open(tt.raw, &v)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
			if tt.check && v.Who != "cust-42" {
				t.Errorf("opened %+v", v)
			}
		})
	}
}

func TestOpenRefusesUnknownFields(t *testing.T) {
	s := signedtoken.New("a-state-secret-of-thirty-two-bytes!", "test", "v1", 256)
	raw, err := s.Sign(map[string]any{"w": "x", "admin": true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(raw, &value{}); !errors.Is(err, signedtoken.ErrForged) {
		t.Fatalf("Open: %v, want ErrForged for a field the value does not have", err)
	}
}

func TestTimesCheck(t *testing.T) {
	now := time.Unix(1_780_000_000, 0)
	at := func(d time.Duration) int64 { return now.Add(d).Unix() }
	tests := []struct {
		name  string
		times signedtoken.Times
		want  error
	}{
		{"valid", signedtoken.Times{IssuedAt: at(-time.Minute), ExpiresAt: at(time.Minute)}, nil},
		{"issued a little ahead", signedtoken.Times{IssuedAt: at(signedtoken.ClockSkew), ExpiresAt: at(time.Hour)}, nil},
		{"issued far ahead", signedtoken.Times{IssuedAt: at(signedtoken.ClockSkew + time.Second), ExpiresAt: at(time.Hour)}, signedtoken.ErrForged},
		{"expiry before issue", signedtoken.Times{IssuedAt: at(0), ExpiresAt: at(-time.Second)}, signedtoken.ErrForged},
		{"expired now", signedtoken.Times{IssuedAt: at(-time.Hour), ExpiresAt: at(0)}, signedtoken.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.times.Check(now); !errors.Is(err, tt.want) {
				t.Errorf("Check: %v, want %v", err, tt.want)
			}
		})
	}
}
