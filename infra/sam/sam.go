// Package sam reads the project's SAM template (template.yaml) into the
// few facts the local gateway and the tests need: the stage, the
// authorizer, each function with its routes, environment and policy, the
// gateway responses, the 405 paths and the tables.
//
// It uses goformation's YAML and intrinsic-function processing, then
// decodes the resources itself: goformation's typed resources reject
// properties SAM accepts (LoggingConfig, GatewayResponses). Ref and
// Fn::GetAtt are kept as written, so a Ref to a resource yields its
// logical id and a Ref to a parameter its default.
package sam

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// Template is what the SAM template declares.
type Template struct {
	Stage            string                     // the Stage parameter's default
	Authorizer       Authorizer                 // the Api's default authorizer
	Functions        map[string]*Function       // by logical id
	GatewayResponses map[string]GatewayResponse // by ResponseType
	NotAllowedPaths  []string                   // paths whose ANY method is the 405 mock
	Tables           map[string]Table           // by logical id
}

// Authorizer is the Api's default token authorizer.
type Authorizer struct {
	Name                 string
	FunctionLogicalID    string
	Header               string
	ValidationExpression string
	TTL                  time.Duration // ReauthorizeEvery
}

// Function is one AWS::Serverless::Function, with Globals applied.
type Function struct {
	LogicalID     string
	Runtime       string
	Timeout       time.Duration
	MemoryMB      int
	Architectures []string
	Env           map[string]EnvValue // Environment.Variables
	Routes        []Route             // its Api events
	Statements    []Statement         // inline policy statements
	BuildMethod   string              // Metadata.BuildMethod
}

// EnvValue is an environment variable's value. Ref is set when the value
// is !Ref X: the logical id of a resource or the name of a parameter; for
// a parameter Literal holds its default. Otherwise Literal is the value.
type EnvValue struct {
	Literal string
	Ref     string
}

// Route is one Api event of a function. Authorizer is "" for the Api's
// default and "NONE" for none.
type Route struct {
	Method, Path string
	Authorizer   string
}

// Statement is one inline IAM policy statement. Resources holds the
// logical id X of each !GetAtt X.Arn (or !Ref X), and literal ARNs as
// written.
type Statement struct {
	Sid, Effect string
	Actions     []string
	Resources   []string
	Condition   map[string]map[string][]string
}

// GatewayResponse is one of the Api's GatewayResponses. StatusCode is 0
// when the type's default status is kept. Headers maps a header name to
// its raw mapping value, such as "'application/problem+json'" or
// "context.requestId". Template is the application/json template.
type GatewayResponse struct {
	Type       string
	StatusCode int
	Headers    map[string]string
	Template   string
}

// Table is an AWS::DynamoDB::Table. Indexes maps each global secondary
// index to its partition and sort key ("" when none). Retain reports a
// Retain deletion policy; PITR point-in-time recovery.
type Table struct {
	LogicalID, PartitionKey, SortKey, TTLAttribute string
	Indexes                                        map[string][2]string
	Retain                                         bool
	PITR                                           bool
}

// Lambda's defaults, for a function that sets neither value.
const (
	defaultTimeout  = 3 * time.Second
	defaultMemoryMB = 128
	// defaultAuthorizerTTL is API Gateway's cache TTL when none is set.
	defaultAuthorizerTTL = 300 * time.Second
)

// processMu serializes goformation's processor, which registers its YAML
// tag handlers in a package map on every call.
var processMu sync.Mutex

// Load reads and decodes the template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	opts := &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":        keep,
			"Fn::GetAtt": keep,
		},
	}
	processMu.Lock()
	processed, err := intrinsics.ProcessYAML(data, opts)
	processMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("process template: %w", err)
	}
	var raw rawTemplate
	if err := json.Unmarshal(processed, &raw); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	return raw.template()
}

// keep leaves an intrinsic function as written, {name: input}.
func keep(name string, input, _ any) any {
	return map[string]any{name: input}
}

// FunctionFor returns the function with an Api event for method and path,
// and false when there is none. Methods compare case-insensitively.
func (t *Template) FunctionFor(method, path string) (*Function, bool) {
	for _, id := range sortedKeys(t.Functions) {
		f := t.Functions[id]
		for _, r := range f.Routes {
			if strings.EqualFold(r.Method, method) && r.Path == path {
				return f, true
			}
		}
	}
	return nil, false
}

// The raw shapes, as goformation's processor leaves them.

type rawTemplate struct {
	Parameters map[string]struct{ Default any }
	Globals    struct{ Function rawFunction }
	Resources  map[string]rawResource
}

type rawResource struct {
	Type           string
	DeletionPolicy string
	Metadata       map[string]any
	Properties     json.RawMessage
}

type rawFunction struct {
	Runtime       string
	Timeout       any
	MemorySize    any
	Architectures []string
	Environment   struct{ Variables map[string]any }
	Events        map[string]struct {
		Type       string
		Properties struct {
			Path, Method string
			Auth         struct{ Authorizer string }
		}
	}
	Policies any
}

type rawAPI struct {
	StageName any
	Auth      struct {
		DefaultAuthorizer string
		Authorizers       map[string]struct {
			FunctionArn any
			Identity    struct {
				Header               string
				ValidationExpression string
				ReauthorizeEvery     any
			}
		}
	}
	GatewayResponses map[string]struct {
		StatusCode         any
		ResponseParameters struct{ Headers map[string]string }
		ResponseTemplates  map[string]string
	}
	DefinitionBody struct {
		Paths map[string]map[string]struct {
			Integration struct {
				Type string `json:"type"`
			} `json:"x-amazon-apigateway-integration"`
		} `json:"paths"`
	}
}

type rawTable struct {
	KeySchema              []rawKey
	GlobalSecondaryIndexes []struct {
		IndexName string
		KeySchema []rawKey
	}
	TimeToLiveSpecification struct {
		AttributeName string
		Enabled       bool
	}
	PointInTimeRecoverySpecification struct {
		PointInTimeRecoveryEnabled bool
	}
}

type rawKey struct{ AttributeName, KeyType string }

func (raw *rawTemplate) template() (*Template, error) {
	stage, err := raw.scalar(map[string]any{"Ref": "Stage"})
	if err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	t := &Template{
		Stage:            stage,
		Functions:        map[string]*Function{},
		GatewayResponses: map[string]GatewayResponse{},
		Tables:           map[string]Table{},
	}
	apis := 0
	for _, id := range sortedKeys(raw.Resources) {
		res := raw.Resources[id]
		switch res.Type {
		case "AWS::Serverless::Function":
			f, err := raw.function(id, res)
			if err != nil {
				return nil, fmt.Errorf("function %s: %w", id, err)
			}
			t.Functions[id] = f
		case "AWS::Serverless::Api":
			apis++
			if err := raw.api(t, res); err != nil {
				return nil, fmt.Errorf("api %s: %w", id, err)
			}
		case "AWS::DynamoDB::Table":
			tbl, err := table(id, res)
			if err != nil {
				return nil, fmt.Errorf("table %s: %w", id, err)
			}
			t.Tables[id] = tbl
		}
	}
	if apis != 1 {
		return nil, fmt.Errorf("template has %d AWS::Serverless::Api, want 1", apis)
	}
	return t, nil
}

func (raw *rawTemplate) function(id string, res rawResource) (*Function, error) {
	var p rawFunction
	if err := json.Unmarshal(res.Properties, &p); err != nil {
		return nil, err
	}
	g := raw.Globals.Function
	f := &Function{
		LogicalID:     id,
		Timeout:       defaultTimeout,
		MemoryMB:      defaultMemoryMB,
		Architectures: p.Architectures,
		Env:           map[string]EnvValue{},
	}
	if f.Architectures == nil {
		f.Architectures = g.Architectures
	}
	f.Runtime = cmp.Or(p.Runtime, g.Runtime)
	if bm, ok := res.Metadata["BuildMethod"].(string); ok {
		f.BuildMethod = bm
	}
	for _, v := range []any{g.Timeout, p.Timeout} {
		if v == nil {
			continue
		}
		n, err := raw.number(v)
		if err != nil {
			return nil, fmt.Errorf("timeout: %w", err)
		}
		f.Timeout = time.Duration(n * float64(time.Second))
	}
	for _, v := range []any{g.MemorySize, p.MemorySize} {
		if v == nil {
			continue
		}
		n, err := raw.number(v)
		if err != nil {
			return nil, fmt.Errorf("memory size: %w", err)
		}
		f.MemoryMB = int(n)
	}
	for _, vars := range []map[string]any{
		g.Environment.Variables, p.Environment.Variables,
	} {
		for k, v := range vars {
			ev, err := raw.envValue(v)
			if err != nil {
				return nil, fmt.Errorf("environment %s: %w", k, err)
			}
			f.Env[k] = ev
		}
	}
	for _, name := range sortedKeys(p.Events) {
		e := p.Events[name]
		if e.Type != "Api" {
			continue
		}
		f.Routes = append(f.Routes, Route{
			Method:     strings.ToUpper(e.Properties.Method),
			Path:       e.Properties.Path,
			Authorizer: e.Properties.Auth.Authorizer,
		})
	}
	stmts, err := statements(p.Policies)
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	f.Statements = stmts
	return f, nil
}

func (raw *rawTemplate) api(t *Template, res rawResource) error {
	var p rawAPI
	if err := json.Unmarshal(res.Properties, &p); err != nil {
		return err
	}
	name := p.Auth.DefaultAuthorizer
	a, ok := p.Auth.Authorizers[name]
	if !ok {
		return fmt.Errorf("default authorizer %q is not defined", name)
	}
	fn, err := logicalID(a.FunctionArn)
	if err != nil {
		return fmt.Errorf("authorizer function: %w", err)
	}
	t.Authorizer = Authorizer{
		Name:                 name,
		FunctionLogicalID:    fn,
		Header:               a.Identity.Header,
		ValidationExpression: a.Identity.ValidationExpression,
		TTL:                  defaultAuthorizerTTL,
	}
	if t.Authorizer.Header == "" {
		t.Authorizer.Header = "Authorization"
	}
	if v := a.Identity.ReauthorizeEvery; v != nil {
		n, err := raw.number(v)
		if err != nil {
			return fmt.Errorf("authorizer ttl: %w", err)
		}
		t.Authorizer.TTL = time.Duration(n) * time.Second
	}

	for typ, r := range p.GatewayResponses {
		gr := GatewayResponse{
			Type:     typ,
			Headers:  r.ResponseParameters.Headers,
			Template: r.ResponseTemplates["application/json"],
		}
		if r.StatusCode != nil {
			n, err := raw.number(r.StatusCode)
			if err != nil {
				return fmt.Errorf("gateway response %s: %w", typ, err)
			}
			gr.StatusCode = int(n)
		}
		t.GatewayResponses[typ] = gr
	}

	for path, methods := range p.DefinitionBody.Paths {
		m := methods["x-amazon-apigateway-any-method"]
		if m.Integration.Type == "mock" {
			t.NotAllowedPaths = append(t.NotAllowedPaths, path)
		}
	}
	slices.Sort(t.NotAllowedPaths)
	return nil
}

func table(id string, res rawResource) (Table, error) {
	var p rawTable
	if err := json.Unmarshal(res.Properties, &p); err != nil {
		return Table{}, err
	}
	t := Table{
		LogicalID: id,
		Indexes:   map[string][2]string{},
		Retain:    res.DeletionPolicy == "Retain",
		PITR:      p.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled,
	}
	t.PartitionKey, t.SortKey = keys(p.KeySchema)
	for _, gsi := range p.GlobalSecondaryIndexes {
		pk, sk := keys(gsi.KeySchema)
		t.Indexes[gsi.IndexName] = [2]string{pk, sk}
	}
	if p.TimeToLiveSpecification.Enabled {
		t.TTLAttribute = p.TimeToLiveSpecification.AttributeName
	}
	if t.PartitionKey == "" {
		return Table{}, errors.New("no HASH key")
	}
	return t, nil
}

func keys(ks []rawKey) (hash, rng string) {
	for _, k := range ks {
		switch k.KeyType {
		case "HASH":
			hash = k.AttributeName
		case "RANGE":
			rng = k.AttributeName
		}
	}
	return hash, rng
}

// statements returns the inline statements of a function's Policies. It
// fails on policy forms it cannot show (managed policy names, SAM policy
// templates), so that a check of the statements cannot miss a grant.
func statements(policies any) ([]Statement, error) {
	if policies == nil {
		return nil, nil
	}
	list, ok := policies.([]any)
	if !ok {
		list = []any{policies}
	}
	var out []Statement
	for _, p := range list {
		doc, ok := p.(map[string]any)
		stmts, hasStmts := doc["Statement"].([]any)
		if !ok || !hasStmts {
			return nil, fmt.Errorf("unsupported policy %v: want an inline "+
				"document with a Statement list", p)
		}
		for _, s := range stmts {
			st, err := statement(s)
			if err != nil {
				return nil, err
			}
			out = append(out, st)
		}
	}
	return out, nil
}

func statement(v any) (Statement, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Statement{}, fmt.Errorf("statement %v is not an object", v)
	}
	st := Statement{}
	st.Sid, _ = m["Sid"].(string)
	st.Effect, _ = m["Effect"].(string)
	actions, err := strings1(m["Action"])
	if err != nil {
		return Statement{}, fmt.Errorf("statement %q action: %w", st.Sid, err)
	}
	st.Actions = actions
	var resources []any
	switch r := m["Resource"].(type) {
	case []any:
		resources = r
	case nil:
	default:
		resources = []any{r}
	}
	for _, r := range resources {
		if s, ok := r.(string); ok {
			st.Resources = append(st.Resources, s)
			continue
		}
		id, err := logicalID(r)
		if err != nil {
			return Statement{}, fmt.Errorf("statement %q resource: %w",
				st.Sid, err)
		}
		st.Resources = append(st.Resources, id)
	}
	if c, ok := m["Condition"].(map[string]any); ok {
		st.Condition = map[string]map[string][]string{}
		for op, kv := range c {
			kvm, ok := kv.(map[string]any)
			if !ok {
				return Statement{}, fmt.Errorf("statement %q condition %s "+
					"is not an object", st.Sid, op)
			}
			st.Condition[op] = map[string][]string{}
			for k, v := range kvm {
				vals, err := strings1(v)
				if err != nil {
					return Statement{}, fmt.Errorf("statement %q condition "+
						"%s %s: %w", st.Sid, op, k, err)
				}
				st.Condition[op][k] = vals
			}
		}
	}
	return st, nil
}

// strings1 returns a string or a list of strings as a list.
func strings1(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string", e)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v is not a string or a list of strings", v)
}

// logicalID returns X for {"Ref": X} and for {"Fn::GetAtt": "X.Attr"} or
// {"Fn::GetAtt": [X, Attr]}.
func logicalID(v any) (string, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", fmt.Errorf("%v is not a Ref or Fn::GetAtt", v)
	}
	if ref, ok := m["Ref"].(string); ok {
		return ref, nil
	}
	switch g := m["Fn::GetAtt"].(type) {
	case string:
		id, _, _ := strings.Cut(g, ".")
		return id, nil
	case []any:
		if len(g) == 2 {
			if id, ok := g[0].(string); ok {
				return id, nil
			}
		}
	}
	return "", fmt.Errorf("%v is not a Ref or Fn::GetAtt", v)
}

// envValue decodes an environment variable's value.
func (raw *rawTemplate) envValue(v any) (EnvValue, error) {
	if m, ok := v.(map[string]any); ok {
		ref, isRef := m["Ref"].(string)
		if !isRef || len(m) != 1 {
			return EnvValue{}, fmt.Errorf("%v: want a literal or a Ref", v)
		}
		ev := EnvValue{Ref: ref}
		if p, ok := raw.Parameters[ref]; ok && p.Default != nil {
			ev.Literal = fmt.Sprint(p.Default)
		}
		return ev, nil
	}
	s, err := raw.scalar(v)
	return EnvValue{Literal: s}, err
}

// scalar returns a literal or a parameter's default as a string.
func (raw *rawTemplate) scalar(v any) (string, error) {
	if m, ok := v.(map[string]any); ok {
		ref, _ := m["Ref"].(string)
		p, ok := raw.Parameters[ref]
		if !ok || p.Default == nil {
			return "", fmt.Errorf("%v: want a literal or a parameter "+
				"with a default", v)
		}
		v = p.Default
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", fmt.Errorf("%v is not a scalar", v)
}

// number returns a literal number, a numeric string, or a parameter's
// default as a number.
func (raw *rawTemplate) number(v any) (float64, error) {
	s, err := raw.scalar(v)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return n, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
