package wechatsim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
)

// A test runs the simulator on a simulated clock and points the platform's
// WX_API_BASE and WX_MP_BASE at its server. Here a bare HTTP call stands in
// for the platform.
func Example() {
	clock := wechatsim.NewClock(time.Date(2025, 11, 24, 10, 0, 0, 0, time.UTC))
	sim := wechatsim.New(wechatsim.Options{Clock: clock})
	defer sim.Close()
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()

	// Without a PlatformURL tickets are issued but not pushed; a real test
	// sets PlatformURL to the platform's server and reads them there.
	err := sim.AddComponent(wechatsim.Component{
		AppID: "wxc0ffee0000000001", AppSecret: "not-a-real-secret",
		Token: "token", EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	})
	if err != nil {
		panic(err)
	}
	ticket, _ := sim.Ticket("wxc0ffee0000000001")
	body := fmt.Sprintf(`{"component_appid":"wxc0ffee0000000001","component_appsecret":"not-a-real-secret","component_verify_ticket":%q}`, ticket)
	resp, err := http.Post(srv.URL+"/cgi-bin/component/api_component_token", "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var tok struct {
		ExpiresIn int `json:"expires_in"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	fmt.Println("expires_in", tok.ExpiresIn)

	// Twelve hours later the ticket has expired; the tickets pushed on the
	// way (every ten minutes) are new ones.
	clock.Advance(12 * time.Hour)
	_, err = sim.Grant(context.Background(), "wxc0ffee0000000001", "wx2a6c1f0b7d3e5001")
	fmt.Println("granted:", err == nil, "calls:", sim.Calls(wechatsim.APIComponentToken))
	// Output:
	// expires_in 7200
	// granted: true calls: 1
}
