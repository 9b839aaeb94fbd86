package localgw

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/tickiti/supervisor-api/infra/sam"
)

// The gateway response types this gateway produces.
const (
	MissingAuthenticationToken   = "MISSING_AUTHENTICATION_TOKEN"
	RequestTooLarge              = "REQUEST_TOO_LARGE"
	Unauthorized                 = "UNAUTHORIZED"
	AccessDenied                 = "ACCESS_DENIED"
	AuthorizerFailure            = "AUTHORIZER_FAILURE"
	AuthorizerConfigurationError = "AUTHORIZER_CONFIGURATION_ERROR"
	IntegrationFailure           = "INTEGRATION_FAILURE"
	IntegrationTimeout           = "INTEGRATION_TIMEOUT"
	Default4XX                   = "DEFAULT_4XX"
	Default5XX                   = "DEFAULT_5XX"
)

// defaultStatus holds API Gateway's default status of each response type
// (the "Gateway response types" page of its developer guide).
var defaultStatus = map[string]int{
	"ACCESS_DENIED":                  403,
	"API_CONFIGURATION_ERROR":        500,
	"AUTHORIZER_CONFIGURATION_ERROR": 500,
	"AUTHORIZER_FAILURE":             500,
	"BAD_REQUEST_PARAMETERS":         400,
	"BAD_REQUEST_BODY":               400,
	"EXPIRED_TOKEN":                  403,
	"INTEGRATION_FAILURE":            504,
	"INTEGRATION_TIMEOUT":            504,
	"INVALID_API_KEY":                403,
	"INVALID_SIGNATURE":              403,
	"MISSING_AUTHENTICATION_TOKEN":   403,
	"QUOTA_EXCEEDED":                 429,
	"REQUEST_TOO_LARGE":              413,
	"RESOURCE_NOT_FOUND":             404,
	"THROTTLED":                      429,
	"UNAUTHORIZED":                   401,
	"UNSUPPORTED_MEDIA_TYPE":         415,
	"WAF_FILTERED":                   403,
}

// gatewayError is a response the gateway makes itself. Message is API
// Gateway's default message for it; empty renders as null, as API
// Gateway's authorizer errors do.
type gatewayError struct {
	Type    string
	Message string
}

// The messages API Gateway uses by default.
const (
	msgExplicitDeny = "User is not authorized to access this resource with an explicit deny"
	msgImplicitDeny = "User is not authorized to access this resource"
)

// builtinTemplate is API Gateway's body when nothing is configured.
const builtinTemplate = `{"message":$context.error.messageString}`

// render is everything a gateway response template may refer to.
type render struct {
	requestID  string
	authorizer map[string]string
	err        gatewayError
}

// writeGateway writes the gateway response for e: the type's own
// configuration, else DEFAULT_4XX or DEFAULT_5XX by its status class,
// else API Gateway's built-in JSON body. It returns the status written.
func (g *Gateway) writeGateway(w http.ResponseWriter, rc render) int {
	status, gr := g.gatewayResponse(rc.err.Type)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	for name, v := range gr.Headers {
		if val, ok := headerValue(v, rc); ok {
			h.Set(name, val)
		}
	}
	h.Set("X-Request-Id", rc.requestID)
	h.Set("X-Amzn-RequestId", rc.requestID)
	h.Set("X-Amzn-ErrorType", rc.err.Type)
	tmpl := gr.Template
	if tmpl == "" {
		tmpl = builtinTemplate
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(substitute(tmpl, rc)))
	return status
}

// gatewayResponse picks the configuration and status of a response type.
func (g *Gateway) gatewayResponse(typ string) (int, sam.GatewayResponse) {
	status := defaultStatus[typ]
	if status == 0 {
		status = 500
	}
	gr, ok := g.t.GatewayResponses[typ]
	if ok {
		if gr.StatusCode != 0 {
			status = gr.StatusCode
		}
		return status, gr
	}
	fallback := Default5XX
	if status < 500 {
		fallback = Default4XX
	}
	gr = g.t.GatewayResponses[fallback]
	if gr.StatusCode != 0 {
		status = gr.StatusCode
	}
	return status, gr
}

// headerValue resolves a header mapping: a quoted literal such as
// "'POST'", or a context variable such as "context.requestId".
func headerValue(v string, rc render) (string, bool) {
	if len(v) >= 2 && strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") {
		return v[1 : len(v)-1], true
	}
	if name, ok := strings.CutPrefix(v, "context."); ok {
		return rc.variable(name), true
	}
	return "", false
}

// templateVar matches $context.x.y and ${context.x.y}.
var templateVar = regexp.MustCompile(`\$\{context\.([A-Za-z0-9_.]+)\}` +
	`|\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)`)

// substitute replaces the context variables in a response template.
// Like API Gateway it substitutes text and does no escaping; an unknown
// variable becomes the empty string.
func substitute(tmpl string, rc render) string {
	return templateVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		sub := templateVar.FindStringSubmatch(m)
		name := sub[1]
		if name == "" {
			name = sub[2]
		}
		return rc.variable(name)
	})
}

// variable returns the value of one context variable, without the
// "context." prefix.
func (rc render) variable(name string) string {
	switch name {
	case "requestId", "extendedRequestId":
		return rc.requestID
	case "error.responseType":
		return rc.err.Type
	case "error.message":
		return rc.err.Message
	case "error.messageString":
		if rc.err.Message == "" {
			return "null"
		}
		b, _ := json.Marshal(rc.err.Message)
		return string(b)
	}
	if key, ok := strings.CutPrefix(name, "authorizer."); ok {
		return rc.authorizer[key]
	}
	return ""
}
