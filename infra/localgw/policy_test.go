package localgw

import (
	"encoding/json"
	"testing"
)

const arnBase = "arn:aws:execute-api:us-east-1:123456789012:localapi"

// policy builds a Policy from JSON statements, as an authorizer sends them.
func policy(t *testing.T, statements string) Policy {
	t.Helper()
	var p Policy
	doc := `{"Version":"2012-10-17","Statement":` + statements + `}`
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("policy %s: %v", doc, err)
	}
	return p
}

// TestEvaluateConformance holds the evaluator to API Gateway's documented
// behaviour for Lambda authorizer policies (IAM evaluation logic).
func TestEvaluateConformance(t *testing.T) {
	diag := arnBase + "/dev/POST/api/v1/supervisor/diagnostics"
	jobs := arnBase + "/dev/POST/api/v1/supervisor/jobs"
	tests := []struct {
		name       string
		statements string
		arn        string
		want       Decision
	}{
		{"no statements", `[]`, diag, ImplicitDeny},
		{"exact allow", `[{"Effect":"Allow","Action":"execute-api:Invoke",
			"Resource":"` + diag + `"}]`, diag, Allow},
		{"allow for another method ARN", `[{"Effect":"Allow",
			"Action":"execute-api:Invoke","Resource":"` + diag + `"}]`,
			jobs, ImplicitDeny},
		{"explicit deny wins", `[
			{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"},
			{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"` + jobs + `"}]`,
			jobs, ExplicitDeny},
		{"deny elsewhere leaves allow", `[
			{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"},
			{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"` + jobs + `"}]`,
			diag, Allow},
		{"deny alone", `[{"Effect":"Deny","Action":"execute-api:Invoke",
			"Resource":"*"}]`, diag, ExplicitDeny},
		{"star crosses slashes", `[{"Effect":"Allow",
			"Action":"execute-api:Invoke","Resource":"` + arnBase + `/dev/*"}]`,
			diag, Allow},
		{"stage and method wildcards", `[{"Effect":"Allow",
			"Action":"execute-api:Invoke","Resource":"` + arnBase + `/*/*"}]`,
			jobs, Allow},
		{"star in the middle", `[{"Effect":"Allow","Action":"execute-api:Invoke",
			"Resource":"` + arnBase + `/dev/*/api/v1/supervisor/jobs"}]`, jobs, Allow},
		{"star in the middle, other path", `[{"Effect":"Allow",
			"Action":"execute-api:Invoke",
			"Resource":"` + arnBase + `/dev/*/api/v1/supervisor/jobs"}]`,
			diag, ImplicitDeny},
		{"question mark is one character", `[{"Effect":"Allow",
			"Action":"execute-api:Invoke","Resource":"` + arnBase + `/de?/POST/*"}]`,
			diag, Allow},
		{"question mark is not zero characters", `[{"Effect":"Allow",
			"Action":"execute-api:Invoke","Resource":"` + arnBase + `/dev?/POST/*"}]`,
			diag, ImplicitDeny},
		{"resource list", `[{"Effect":"Allow","Action":"execute-api:Invoke",
			"Resource":["` + jobs + `","` + diag + `"]}]`, diag, Allow},
		{"action list", `[{"Effect":"Allow","Action":["s3:GetObject",
			"execute-api:Invoke"],"Resource":"*"}]`, diag, Allow},
		{"action service wildcard", `[{"Effect":"Allow","Action":"execute-api:*",
			"Resource":"*"}]`, diag, Allow},
		{"action star", `[{"Effect":"Allow","Action":"*","Resource":"*"}]`,
			diag, Allow},
		{"action case-insensitive", `[{"Effect":"Allow",
			"Action":"Execute-API:invoke","Resource":"*"}]`, diag, Allow},
		{"other action", `[{"Effect":"Allow","Action":"execute-api:ManageConnections",
			"Resource":"*"}]`, diag, ImplicitDeny},
		{"deny for other action ignored", `[
			{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"},
			{"Effect":"Deny","Action":"dynamodb:*","Resource":"*"}]`, diag, Allow},
		{"other stage", `[{"Effect":"Allow","Action":"execute-api:Invoke",
			"Resource":"` + arnBase + `/prod/*"}]`, diag, ImplicitDeny},
		{"other api id", `[{"Effect":"Allow","Action":"execute-api:Invoke",
			"Resource":"arn:aws:execute-api:us-east-1:123456789012:otherapi/dev/*"}]`,
			diag, ImplicitDeny},
		{"resource case-sensitive", `[{"Effect":"Allow","Action":"execute-api:Invoke",
			"Resource":"` + arnBase + `/dev/post/*"}]`, diag, ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Evaluate(policy(t, tt.statements), tt.arn)
			if got != tt.want {
				t.Errorf("Evaluate(%s) = %v, want %v", tt.arn, got, tt.want)
			}
		})
	}
}

// A cached policy is judged anew for each method ARN.
func TestEvaluateOnePolicyManyARNs(t *testing.T) {
	p := policy(t, `[{"Effect":"Allow","Action":"execute-api:Invoke",
		"Resource":["`+arnBase+`/dev/POST/api/v1/supervisor/jobs"]}]`)
	tests := []struct {
		arn  string
		want Decision
	}{
		{arnBase + "/dev/POST/api/v1/supervisor/jobs", Allow},
		{arnBase + "/dev/POST/api/v1/supervisor/jobs/retry", ImplicitDeny},
		{arnBase + "/dev/GET/api/v1/supervisor/jobs", ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.arn, func(t *testing.T) {
			if got := Evaluate(p, tt.arn); got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"*", "", true},
		{"a*b*c", "a/x/b/y/c", true},
		{"a*b*c", "a/x/b/y/d", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"**", "anything", true},
		{"*x", "xxxx", true},
		{"abc", "abcd", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.s, func(t *testing.T) {
			if got := wildcardMatch(tt.pattern, tt.s); got != tt.want {
				t.Errorf("wildcardMatch(%q, %q) = %v, want %v",
					tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}
