package platform

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The committed sample events are what API Gateway sends.
func sampleEvents(tb testing.TB) [][]byte {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("sample events: %v", err)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// checkDecodeEvent compares decodeEvent with encoding/json on data: the same
// fields for every valid JSON that encoding/json accepts, and an error for
// what is not JSON.
func checkDecodeEvent(t *testing.T, data []byte) {
	var want apiRequest
	wantErr := json.Unmarshal(data, &want)
	got, err := decodeEvent(data)
	switch {
	case !json.Valid(data):
		if err == nil {
			t.Fatalf("decodeEvent accepted %q, which is not JSON", data)
		}
	case wantErr == nil && err != nil:
		t.Fatalf("decodeEvent(%q): %v; encoding/json decodes it", data, err)
	case wantErr == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("decodeEvent(%q) = %+v\nencoding/json gives %+v", data, got, want)
	}
}

func TestDecodeEvent(t *testing.T) {
	for _, data := range sampleEvents(t) {
		checkDecodeEvent(t, data)
	}
	tests := []string{
		`{"rawPath":"/a\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t","cookies":["a=1","b=2"],"headers":{"x":"1","y":null},"isBase64Encoded":true}`,
		`{"RAWPATH":"/upper","requestContext":{"http":{"method":"get","sourceIp":"1.2.3.4"},"other":[1,-2.5e3,{"deep":[true,false,null]}]}}`,
		`{"body":"\ud800 lone","cookies":null,"headers":null,"rawPath":null}`,
		`{"body":"bad utf-8 \xff\xfe"}`,
		`{"cookies":[]}`,
		`{"rawPath":"/x","rawPath":"/y"}`,
		`{"rawPath":1}`, `{"rawPath":"x"`, `{"a":01}`, `{"a":1.}`, `[1]`, `{} {}`, `{"a":"\x01"}`, `{"a":"\uZZZZ"}`,
	}
	for _, s := range tests {
		checkDecodeEvent(t, []byte(s))
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, data := range sampleEvents(f) {
		f.Add(data)
	}
	f.Add([]byte(`{"headers":{"a":"b"},"cookies":["c"],"requestContext":{"http":{"method":"POST"}}}`))
	f.Fuzz(checkDecodeEvent)
}
