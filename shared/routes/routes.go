// Package routes lists the platform's HTTP routes and which Lambda function
// serves each, so the functions, the local dev server and the SAM template
// are all checked against one table.
package routes

// Function names, as the directories under functions/.
const (
	Ticket    = "ticket"
	Authorize = "authorize"
	Message   = "message"
	Refresh   = "refresh"
	// Token is invoked by other Lambdas through IAM; it has no route.
	Token = "token"
)

// Route is one API Gateway route.
type Route struct {
	Function string // the function directory under functions/
	Method   string
	Path     string // API Gateway syntax: {name} for a path parameter
}

// Pattern is the route as a net/http ServeMux pattern.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// All is every HTTP route of the platform. The refresh and token functions
// have none: EventBridge Scheduler invokes the one, other Lambdas the other.
var All = []Route{
	{Ticket, "POST", "/wechat/component/ticket"},
	{Authorize, "GET", "/wechat/authorize"},
	{Authorize, "GET", "/wechat/preauth/callback"},
	{Authorize, "GET", "/wechat/oauth/{appid}"},
	{Authorize, "GET", "/wechat/oauth/{appid}/callback"},
	{Message, "POST", "/wechat/{appid}/callback"},
}

// For returns the routes served by one function.
func For(function string) []Route {
	var rs []Route
	for _, r := range All {
		if r.Function == function {
			rs = append(rs, r)
		}
	}
	return rs
}
