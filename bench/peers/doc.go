// Package peers compares the message URL's receive path with the same path
// built on other Go WeChat SDKs, in a module of its own so that the product
// never depends on them.
//
// Run it with
//
//	go test -run '^$' -bench . -benchmem -count 6 | tee bench.txt
//	benchstat -col .name bench.txt
//
// Both sides handle the same encrypted, signed push of a text message with
// the component's Token, EncodingAESKey and appid (safe mode), reply with
// the same text, encrypted and signed, through the same reusable request
// and response writer, so that the harness allocates nothing.
package peers
