package auth

import (
	"errors"
	"strings"
)

// MethodARN is the part of an execute-api method ARN that names an API
// stage: "arn:aws:execute-api:<region>:<account>:<api-id>/<stage>".
type MethodARN struct {
	Stage string // everything before the method, without a trailing slash
}

// ParseMethodARN splits an API Gateway method ARN such as
// arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/POST/api/x into
// its stage part.
func ParseMethodARN(arn string) (MethodARN, error) {
	parts := strings.SplitN(arn, "/", 3)
	if len(parts) < 3 || !strings.HasPrefix(parts[0], "arn:") ||
		strings.Count(parts[0], ":") != 5 || parts[1] == "" {
		return MethodARN{}, errors.New("auth: malformed method ARN")
	}
	return MethodARN{Stage: parts[0] + "/" + parts[1]}, nil
}

// Resource returns the method ARN of method and path within the stage.
func (m MethodARN) Resource(method, path string) string {
	return m.Stage + "/" + method + path
}

// AllResources returns a resource matching every method and path of the
// stage, for a Deny that covers all of them.
func (m MethodARN) AllResources() string {
	return m.Stage + "/*/*"
}

// Resources lists the method ARNs of the allowed routes, every route
// being POST. It is never a wildcard: a read token's cached policy must
// not let it reach a write route.
func (d Decision) Resources(m MethodARN) []string {
	out := make([]string, 0, len(d.Allowed))
	for _, r := range d.Allowed {
		out = append(out, m.Resource("POST", r.Path))
	}
	return out
}
