package authorize

import "testing"

func TestAttrURL(t *testing.T) {
	tests := []struct {
		name, url string
		want      markup
	}{
		{"https", "https://wx.qlogo.cn/mmopen/abc/0", "https://wx.qlogo.cn/mmopen/abc/0"},
		{"http with a query", "http://127.0.0.1:9001/p?a=1&b=2", "http://127.0.0.1:9001/p?a=1&amp;b=2"},
		{"relative", "/wechat/authorize?customer=cust-42", "/wechat/authorize?customer=cust-42"},
		{"quote and tag in a query", `/wechat/preauth/callback?x="><script>`, "/wechat/preauth/callback?x=&#34;&gt;&lt;script&gt;"},
		{"javascript", "javascript:alert(1)", "#"},
		{"javascript in capitals", "JavaScript:alert(1)", "#"},
		{"javascript after a space", " javascript:alert(1)", "#"},
		{"javascript with a tab", "java\tscript:alert(1)", "#"},
		{"javascript after a control character", "\x01javascript:alert(1)", "#"},
		{"data", "data:text/html,<script>alert(1)</script>", "#"},
		{"vbscript", "vbscript:msgbox(1)", "#"},
		{"not a URL", "https://[::1", "#"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := attrURL(tt.url); got != tt.want {
				t.Errorf("attrURL(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}
