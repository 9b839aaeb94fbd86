package secrets

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/tickiti/supervisor-api/shared/awsjson"
)

// fakeSecretsService is a fake of the AWS Secrets Manager and Systems
// Manager APIs, which cannot run here: it answers GetSecretValue and
// GetParameter as the services do, from a value the test can rotate.
type fakeSecretsService struct {
	value atomic.Value
	calls atomic.Int32
}

func (f *fakeSecretsService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") ||
		r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		w.WriteHeader(400)
		w.Write([]byte(`{"__type":"MissingAuthenticationTokenException","message":"unsigned"}`))
		return
	}
	var in map[string]any
	json.NewDecoder(r.Body).Decode(&in)
	v := f.value.Load().(string)
	switch r.Header.Get("X-Amz-Target") {
	case "secretsmanager.GetSecretValue":
		if in["SecretId"] != "queue-dsn" {
			w.WriteHeader(400)
			w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"no such secret"}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"SecretString": v})
	case "AmazonSSM.GetParameter":
		if in["WithDecryption"] != true {
			w.WriteHeader(400)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]string{"Value": v}})
	default:
		w.WriteHeader(400)
	}
}

func options(url string) awsjson.Options {
	return awsjson.Options{Region: "eu-west-1", Endpoint: url,
		Credentials: awsjson.StaticCredentials(aws.Credentials{AccessKeyID: "a", SecretAccessKey: "b"})}
}

func TestFetchReadsEachTimeSoRotationIsSeen(t *testing.T) {
	fake := &fakeSecretsService{}
	fake.value.Store("postgres://u:old@db/app")
	hs := httptest.NewServer(fake)
	defer hs.Close()
	for _, tt := range []struct {
		name string
		make func() (Fetch, error)
	}{
		{"secrets manager", func() (Fetch, error) { return FromSecretsManager(options(hs.URL), "queue-dsn") }},
		{"ssm", func() (Fetch, error) { return FromParameter(options(hs.URL), "/app/queue-dsn") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake.value.Store("postgres://u:old@db/app")
			fetch, err := tt.make()
			if err != nil {
				t.Fatal(err)
			}
			if got, err := fetch(t.Context()); err != nil || got != "postgres://u:old@db/app" {
				t.Fatalf("fetch = %q, %v", got, err)
			}
			fake.value.Store("postgres://u:new@db/app")
			if got, _ := fetch(t.Context()); got != "postgres://u:new@db/app" {
				t.Errorf("after rotation fetch = %q", got)
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	fake := &fakeSecretsService{}
	fake.value.Store("x")
	hs := httptest.NewServer(fake)
	defer hs.Close()
	fetch, _ := FromSecretsManager(options(hs.URL), "missing")
	_, err := fetch(t.Context())
	if err == nil || awsjson.Unavailable(err) {
		t.Errorf("missing secret: err = %v, want a non-retryable error", err)
	}
	down, _ := FromSecretsManager(options("http://127.0.0.1:1"), "queue-dsn")
	if _, err := down(t.Context()); !awsjson.Unavailable(err) {
		t.Errorf("unreachable service: err = %v, want unavailable", err)
	}
}

func TestDSN(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "sqlite:/tmp/q.db", "sqlite:/tmp/q.db"},
		{"rds postgres", `{"engine":"postgres","host":"db.x","port":5432,"username":"app","password":"p@ss/w","dbname":"helpdesk"}`,
			"postgres://app:p%40ss%2Fw@db.x:5432/helpdesk"},
		{"rds mariadb", `{"engine":"mariadb","host":"db.y","username":"app","password":"p","dbname":"h"}`,
			"mysql://app:p@db.y/h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DSN(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("DSN = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := DSN(`{"engine":"oracle","host":"h"}`); err == nil {
		t.Error("an oracle secret was accepted")
	}
}
