package replyhook_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wxcomponent/wxcomponent/shared/message/replyhook"
)

// A reply hook written in Go: its Lambda handler takes the request and
// returns an Answer (lambda.Start(handle) in its main).
func Example() {
	type request struct {
		CustomerRef     string            `json:"customer_ref"`
		DeadlineMS      int64             `json:"deadline_ms"`
		AuthorizerAppID string            `json:"authorizer_appid"`
		Message         map[string]string `json:"message"`
	}
	handle := func(ctx context.Context, r request) (*replyhook.Answer, error) {
		switch r.Message["MsgType"] {
		case "text":
			return &replyhook.Answer{Type: "text", Content: "[" + r.CustomerRef + "] you said: " + r.Message["Content"]}, nil
		case "image":
			return &replyhook.Answer{Type: "image", MediaID: r.Message["MediaId"]}, nil
		}
		return &replyhook.Answer{Type: replyhook.TypeNone}, nil
	}

	var r request
	_ = json.Unmarshal([]byte(`{"customer_ref":"cust-42","deadline_ms":1764547203000,"authorizer_appid":"wx570bc396a51b8ff8",`+
		`"message":{"ToUserName":"gh_3c884a361561","FromUserName":"ozy4qt5QUADNXORxCVipKMV9dss0","CreateTime":"1764547200",`+
		`"MsgType":"text","Content":"hello","MsgId":"24363391937383372"}}`), &r)
	a, _ := handle(context.Background(), r)
	out, _ := json.Marshal(a)
	fmt.Println(string(out))
	reply, err := replyhook.ParseAnswer(out)
	fmt.Println(reply.MsgType(), err)
	// Output:
	// {"type":"text","content":"[cust-42] you said: hello"}
	// text <nil>
}
