// Package deploytest checks what is deployed: the SAM template (template.yaml at the
// repository root) against the code: cfn-lint passes, every route of package
// routes reaches the function that serves it, every function directory is
// built by the Makefile the way Lambda runs it, no secret is written into
// the template, and, rendered with each optional part on and off (static
// egress IP, alarm email), the template has the network, alarms and logs
// the deployment guide describes. It also runs each function's bootstrap as
// Lambda runs it (internal/lambdatest), against moto_server and the
// simulator. And it checks that shared/ and functions/ link no testing
// package and no test kit of internal/. It holds tests only.
package deploytest
