// Command token is the token function: other Lambdas of the platform, in
// any language, invoke it (lambda:InvokeFunction, no HTTP route) with
// {"appid":"wx…"} or {"component":true} and get a valid token and its
// expiry, refreshed on demand (package tokenfunc).
package main

import "github.com/wxcomponent/wxcomponent/shared/platform"

func main() {
	platform.StartTokenFunction()
}
