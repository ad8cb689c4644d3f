// Package templatetest checks the SAM template (template.yaml at the
// repository root) against the code: cfn-lint passes, every route of package
// routes reaches the function that serves it, every function directory is
// built by the Makefile the way Lambda runs it, and no secret is written into
// the template. It holds tests only.
package templatetest
